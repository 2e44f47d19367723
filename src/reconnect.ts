/** Reconnection delays: doubling from `initialMs` up to `maxMs`. */
export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

/**
 * How long to wait before reconnection attempt `failures` + 1: doubling from `initialMs` up to
 * `maxMs`, but never more than a quarter of the outage so far, so that a camera back after 5 s
 * is read again within about a second, while one down for an hour is asked every `maxMs`.
 * Jittered (50-100%), so that cameras lost together do not all retry in step.
 */
export function reconnectDelay(failures: number, outageMs: number, backoff: Backoff): number {
  const doubling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(failures - 1, 0));
  const proportional = Math.max(backoff.initialMs, outageMs / 4);
  return Math.min(doubling, proportional) * (0.5 + 0.5 * Math.random());
}
