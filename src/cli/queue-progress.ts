import { MultiBar, type SingleBar } from "cli-progress";
import { basename } from "node:path";
import { log } from "../log.js";
import type { VideoStatus } from "../queue/status.js";

/**
 * A progress bar per queued video on a terminal; elsewhere (CI, pipes) a log line whenever a
 * video's state or done chunks change.
 */
export class QueueProgress {
  private readonly bars: MultiBar | null;
  private readonly rows = new Map<string, SingleBar>();
  private readonly said = new Map<string, string>();

  constructor() {
    this.bars = process.stderr.isTTY
      ? new MultiBar({ stream: process.stderr, format: "{name} [{bar}] {percentage}% | {chunks} chunks | {state}", hideCursor: true })
      : null;
  }

  update(statuses: readonly VideoStatus[]): void {
    for (const s of statuses) {
      const fields = { name: basename(s.input), chunks: `${s.chunksDone}/${s.chunks}`, state: s.state };
      if (this.bars) {
        const bar = this.rows.get(s.id) ?? this.bars.create(100, 0, fields);
        this.rows.set(s.id, bar);
        bar.update(Math.round(100 * s.progress), fields);
        continue;
      }
      const line = `${fields.name}: ${s.state}, ${fields.chunks} chunks`;
      if (this.said.get(s.id) !== line) log.info(line);
      this.said.set(s.id, line);
    }
  }

  close(): void {
    this.bars?.stop();
  }
}
