import { rename, rm, stat } from "node:fs/promises";
import { basename, dirname, extname, join, resolve } from "node:path";
import { InputError } from "../ffmpeg/errors.js";

/**
 * An output file written under a temporary name in its own folder and renamed into place
 * once complete (rename within a folder is atomic): a reader never sees half a file where
 * the output belongs, and a crash leaves the temporary file, never a broken output. The
 * temporary name keeps the extension, so ffmpeg still picks its container from it.
 */
export class PartialFile {
  readonly path: string;

  constructor(readonly output: string) {
    const extension = extname(output);
    this.path = join(dirname(output), `.${basename(output, extension)}.${process.pid}.partial${extension}`);
  }

  /** Move the finished file to its real name, replacing any older output there. */
  async commit(): Promise<void> {
    await rename(this.path, this.output);
  }

  /** Remove the unfinished file; the real name is left as it was. */
  async discard(): Promise<void> {
    await rm(this.path, { force: true });
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
    if (same) throw new InputError(`${output}: the output is the input ${input}; choose another output file (-o)`);
  }
}
