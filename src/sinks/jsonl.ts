import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { OutputError } from "../errors.js";
import { PartialFile } from "./partial-file.js";

/**
 * One JSON object per line to a file, or to stdout for "-"; writes wait when the disk does.
 * A file appears under its name when closed (see PartialFile).
 */
export class JsonLinesSink {
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly out: WriteStream | NodeJS.WriteStream,
    private readonly file: PartialFile | null,
  ) {}

  /** Open `path` ("-": stdout); a folder or file that cannot be made is an OutputError naming it. */
  static async open(path: string): Promise<JsonLinesSink> {
    if (path === "-") return new JsonLinesSink(process.stdout, null);
    try {
      await mkdir(dirname(path), { recursive: true });
      const file = new PartialFile(path);
      const out = createWriteStream(file.path);
      await once(out, "open");
      return new JsonLinesSink(out, file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw code ? new OutputError(`${path}: cannot write: ${(error as Error).message}`, code) : error;
    }
  }

  async write(value: unknown): Promise<void> {
    if (!this.out.write(JSON.stringify(value) + "\n")) await once(this.out, "drain");
  }

  /** Finish the file under its name. Safe to call twice: both calls settle together. */
  close(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    if (!this.file) return;
    await new Promise<void>((resolve, reject) => (this.out as WriteStream).end((error?: Error | null) => (error ? reject(error) : resolve())));
    await this.file.commit();
  }
}
