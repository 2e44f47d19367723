import { Observable, type OperatorFunction } from "rxjs";

/**
 * Run `work` on each value, one at a time and in order, holding at most `capacity` values
 * waiting; when a new value finds the queue full, the oldest waiting one is dropped (and
 * handed to `onDrop`). Latency stays bounded when the work is slower than the source,
 * instead of a queue that grows without end. With `capacity` 1 this is latest-only: the
 * work always picks up the newest value.
 *
 * RxJS's contract, as `concatMap` keeps it: unsubscribing drops the waiting values and starts
 * no further work (the run in flight finishes on its own, its result unseen); an error from
 * `work`, `onDrop` or the source goes down the stream; completion waits for the run in flight and the
 * values still waiting.
 */
export function dropOldest<T, R>(capacity: number, work: (value: T) => Promise<R>, onDrop?: (dropped: T) => void): OperatorFunction<T, R> {
  if (capacity < 1) throw new Error(`dropOldest needs a capacity of at least 1, got ${capacity}`);
  return (source) =>
    new Observable<R>((subscriber) => {
      const waiting: T[] = [];
      let busy = false;
      let sourceDone = false;

      const runNext = (): void => {
        if (waiting.length === 0) {
          busy = false;
          if (sourceDone) subscriber.complete();
          return;
        }
        const value = waiting.shift() as T;
        busy = true;
        // A synchronous throw in `work` becomes a rejection, so both reach subscriber.error.
        new Promise<R>((resolve) => resolve(work(value))).then(
          (result) => {
            if (subscriber.closed) return;
            subscriber.next(result);
            runNext();
          },
          (error: unknown) => subscriber.error(error),
        );
      };

      const upstream = source.subscribe({
        next: (value) => {
          waiting.push(value);
          if (waiting.length > capacity) {
            const oldest = waiting.shift() as T;
            // As a throwing `work` does: a throwing `onDrop` errors this stream, not the source's caller.
            try {
              onDrop?.(oldest);
            } catch (error) {
              subscriber.error(error);
              return;
            }
          }
          if (!busy) runNext();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          if (!busy) subscriber.complete();
        },
      });

      return () => {
        upstream.unsubscribe();
        waiting.length = 0;
      };
    });
}
