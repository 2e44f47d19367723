import { Observable, type OperatorFunction } from "rxjs";

/**
 * Run `work` on a value only when the previous run has finished; values arriving meanwhile
 * are skipped. For outputs that want the newest frame, never a backlog (viewer previews).
 */
export function skipWhileBusy<T>(work: (value: T) => Promise<void>): OperatorFunction<T, never> {
  return (source) =>
    new Observable<never>((subscriber) => {
      let busy = false;
      return source.subscribe({
        next: (value) => {
          if (busy) return;
          busy = true;
          work(value).then(
            () => (busy = false),
            (error: unknown) => subscriber.error(error),
          );
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
}
