import { SingleBar } from "cli-progress";
import { basename } from "node:path";
import type { Progress } from "../pipeline/deblur-file.js";

/** A progress bar with fps and ETA on a terminal; silent when stderr is not a TTY (CI, pipes). */
export class ProgressBar {
  private readonly bar: SingleBar | null;
  private started = false;

  constructor(private readonly label: string) {
    this.bar = process.stderr.isTTY
      ? new SingleBar({
          stream: process.stderr,
          format: `${basename(label)} [{bar}] {percentage}% | {value}/{total} frames | {fps} fps | ETA {eta_formatted}`,
          hideCursor: true,
          etaBuffer: 20,
        })
      : null;
  }

  update(progress: Progress): void {
    if (!this.bar) return;
    const total = Math.max(progress.total ?? progress.frames, progress.frames);
    if (!this.started) {
      this.bar.start(total, 0, { fps: "-" });
      this.started = true;
    }
    this.bar.setTotal(total);
    this.bar.update(progress.frames, { fps: progress.fps.toFixed(2) });
  }

  /** Safe to call more than once. */
  close(): void {
    if (this.started) this.bar?.stop();
    this.started = false;
  }
}
