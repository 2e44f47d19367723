import { UserError } from "../errors.js";

/** The messages between a WorkerClient and the worker's `serveInWorker`. */

/**
 * An error as it crosses the thread: structured cloning keeps neither its class nor, in a
 * useful form, its stack, yet the CLI needs both: a UserError (a COCO label mistyped, a tfjs
 * backend not installed) is said in one line, anything else with the worker's stack.
 */
export interface Failure {
  readonly message: string;
  readonly stack: string | undefined;
  readonly userError: boolean;
}

export function toFailure(error: unknown): Failure {
  const known = error instanceof Error ? error : new Error(String(error));
  return { message: known.message, stack: known.stack, userError: known instanceof UserError };
}

/** The error a Failure stands for, on the calling side: a UserError again, or an Error with the worker's stack. */
export function fromFailure(failure: Failure): Error {
  const error = failure.userError ? new UserError(failure.message) : new Error(failure.message);
  if (failure.stack !== undefined) error.stack = failure.stack;
  return error;
}

/** The worker's first message: its handlers are ready, or they could not be set up. */
export type Startup = { readonly ready: true } | { readonly ready: false; readonly failure: Failure };

export interface Call {
  readonly id: number;
  readonly method: string;
  readonly args: readonly unknown[];
}

export type Reply = { readonly id: number; readonly ok: true; readonly value: unknown } | { readonly id: number; readonly ok: false; readonly failure: Failure };
