import { existsSync, renameSync, rmSync } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { basename, dirname, extname, join, resolve } from "node:path";
import { InputVideoError } from "../errors.js";
import { killRunningProcesses } from "../ffmpeg/process.js";
import { trimToWholeFragments } from "./fragmented-mp4.js";

/** What becomes of an unfinished file when the process exits first (a second Ctrl-C, a crash). */
export type OnExit = "discard" | "keep";

/** This process's files not yet committed or discarded, settled as their OnExit says at exit. */
const unfinished = new Set<PartialFile>();
process.on("exit", () => {
  // The encoders that write these files go first: one still running could create or extend
  // a file after it was removed or kept.
  killRunningProcesses();
  for (const file of unfinished) file.settleNow();
});

/**
 * An output file written under a temporary name in its own folder and renamed into place
 * once complete (rename within a folder is atomic): a reader never sees half a file where
 * the output belongs, and a crash leaves no broken output. The temporary name keeps the
 * extension, so ffmpeg still picks its container from it. If the process exits before the
 * file is finished, it is removed, or kept under its name when it plays however it was cut
 * (`onExit: "keep"`, for live recordings): a hidden half file is never left behind. Only a
 * kill that gives the process no chance (SIGKILL, a power cut) leaves the temporary file.
 */
export class PartialFile {
  readonly path: string;

  constructor(
    readonly output: string,
    private readonly onExit: OnExit = "discard",
  ) {
    const extension = extname(output);
    this.path = join(dirname(output), `.${basename(output, extension)}.${process.pid}.partial${extension}`);
    unfinished.add(this);
  }

  /** Move the finished file to its real name, replacing any older output there. */
  async commit(): Promise<void> {
    await rename(this.path, this.output);
    unfinished.delete(this);
  }

  /** Remove the unfinished file; the real name is left as it was. */
  async discard(): Promise<void> {
    // Still settled at exit until the removal is done: an exit between the two would leave it.
    await rm(this.path, { force: true });
    unfinished.delete(this);
  }

  /**
   * At exit, where nothing can be awaited: keep or remove the file as `onExit` says. A kept file
   * loses the fragment its killed encoder was writing (see killRunningProcesses).
   */
  settleNow(): void {
    unfinished.delete(this);
    if (this.onExit === "discard") {
      rmSync(this.path, { force: true });
    } else if (existsSync(this.path)) {
      trimToWholeFragments(this.path);
      renameSync(this.path, this.output);
    }
  }
}

/**
 * Refuse an output that is one of the inputs (the same path, or the same file through a link):
 * writing it would destroy the input the job is reading.
 */
export async function refuseOverwritingInput(output: string, inputs: readonly string[]): Promise<void> {
  const target = await stat(output).catch(() => null);
  for (const input of inputs) {
    const source = await stat(input).catch(() => null);
    const same = resolve(input) === resolve(output) || (target !== null && source !== null && target.dev === source.dev && target.ino === source.ino);
    if (same) throw new InputVideoError(`${output}: the output is the input ${input}; choose another output file (-o)`);
  }
}
