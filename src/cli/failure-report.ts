import { UserError } from "../errors.js";

/** What the CLI prints for an error that ended a command, and its exit code. */
export interface FailureReport {
  readonly text: string;
  readonly exitCode: 1 | 2;
}

/**
 * A UserError (a bad config field, a missing file, a busy port) is the user's to fix: its
 * message is the whole story, exit 2. Anything else is a bug of ours, a TypeError included,
 * however early it came: its stack shows where, exit 1.
 */
export function failureReport(error: unknown): FailureReport {
  if (error instanceof UserError) return { text: error.message, exitCode: 2 };
  return { text: error instanceof Error ? (error.stack ?? error.message) : String(error), exitCode: 1 };
}
