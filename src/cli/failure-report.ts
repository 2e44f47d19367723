import type { CommanderError } from "commander";
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

/**
 * The exit code for commander's own refusals (an unknown option, a value outside a flag's
 * choices, a missing argument), which it has already printed naming the flag: the user's to
 * fix, as a bad config field is, so 2; help asked for is 0.
 */
export function usageExitCode(error: CommanderError): 0 | 2 {
  return error.exitCode === 0 ? 0 : 2;
}
