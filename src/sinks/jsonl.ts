import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";

/** One JSON object per line to a file, or to stdout for "-"; writes wait when the disk does. */
export class JsonLinesSink {
  private constructor(private readonly out: WriteStream | NodeJS.WriteStream) {}

  static async open(path: string): Promise<JsonLinesSink> {
    if (path === "-") return new JsonLinesSink(process.stdout);
    await mkdir(dirname(path), { recursive: true });
    const out = createWriteStream(path);
    await once(out, "open");
    return new JsonLinesSink(out);
  }

  async write(value: unknown): Promise<void> {
    if (!this.out.write(JSON.stringify(value) + "\n")) await once(this.out, "drain");
  }

  async close(): Promise<void> {
    if (this.out === process.stdout) return;
    await new Promise<void>((resolve, reject) => (this.out as WriteStream).end((error?: Error | null) => (error ? reject(error) : resolve())));
  }
}
