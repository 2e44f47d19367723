/** The messages between a WorkerClient and the worker's `serveInWorker`. */

/** The worker's first message: its handlers are ready, or they could not be set up. */
export type Startup = { readonly ready: true } | { readonly ready: false; readonly message: string };

export interface Call {
  readonly id: number;
  readonly method: string;
  readonly args: readonly unknown[];
}

export type Reply = { readonly id: number; readonly ok: true; readonly value: unknown } | { readonly id: number; readonly ok: false; readonly message: string };
