import { Observable, type OperatorFunction } from "rxjs";

/**
 * Run `work` on each value, one at a time and in order, holding at most `capacity` values
 * waiting; when a new value finds the queue full, the oldest waiting one is dropped (and
 * handed to `onDrop`). Latency stays bounded when the work is slower than the source,
 * instead of a queue that grows without end. Completes once the queue has drained.
 */
export function dropOldest<T, R>(capacity: number, work: (value: T) => Promise<R>, onDrop?: (dropped: T) => void): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      const queue: T[] = [];
      let busy = false;
      let sourceDone = false;

      const next = (): void => {
        if (queue.length === 0) {
          busy = false;
          if (sourceDone) subscriber.complete();
          return;
        }
        const value = queue.shift() as T;
        busy = true;
        work(value).then(
          (result) => {
            subscriber.next(result);
            next();
          },
          (error: unknown) => subscriber.error(error),
        );
      };

      const subscription = source.subscribe({
        next: (value) => {
          queue.push(value);
          if (queue.length > capacity) onDrop?.(queue.shift() as T);
          if (!busy) next();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          if (!busy) subscriber.complete();
        },
      });
      return () => subscription.unsubscribe();
    });
}
