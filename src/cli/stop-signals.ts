import { constants } from "node:os";
import { exitAfterWorkers } from "../threads/worker-client.js";

/** How a person stops a command: Ctrl-C, a process manager's SIGTERM, a closed terminal. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export type StopSignal = (typeof STOP_SIGNALS)[number];

export interface StopHandlers {
  /** The first signal: finish what was taken so far (recordings, the frames in flight), then exit. */
  finish(signal: StopSignal): void;
  /**
   * A second Ctrl-C or SIGTERM while finishing: say what is lost. The process then exits with
   * 128 + the signal's number as soon as the inference in progress ends; at exit what can be
   * kept is kept (see PartialFile).
   */
  now(signal: StopSignal): void;
}

/**
 * Until a command routes them (onStopSignals), a stop signal exits the process through
 * process.exit, whose exit handlers kill the ffmpegs it started (they run in process groups
 * of their own, out of the terminal's reach) and settle its unfinished files. A signal's
 * default action runs none of them.
 */
export function exitOnStopSignals(): void {
  for (const signal of STOP_SIGNALS) process.on(signal, exitBySignal);
}

function exitBySignal(signal: StopSignal): void {
  void exitAfterWorkers(signalExitCode(signal));
}

/**
 * Route the stop signals to a command. A hang-up while finishing does not cut the finish short:
 * the terminal is gone, nobody is waiting. After a hang-up, writes to that terminal fail (EIO);
 * they must not crash the process while it finishes its files.
 */
export function onStopSignals(handlers: StopHandlers): void {
  let stopping = false;
  for (const signal of STOP_SIGNALS) {
    process.off(signal, exitBySignal);
    process.on(signal, () => {
      if (signal === "SIGHUP") for (const output of [process.stdout, process.stderr]) output.on("error", () => undefined);
      if (!stopping) {
        stopping = true;
        handlers.finish(signal);
      } else if (signal !== "SIGHUP") {
        handlers.now(signal);
        void exitAfterWorkers(signalExitCode(signal));
      }
    });
  }
}

/** The exit status of a command stopped by `signal`, as shells report one: 128 + its number (130 for Ctrl-C). */
export function signalExitCode(signal: StopSignal): number {
  return 128 + constants.signals[signal];
}
