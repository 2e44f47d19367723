import { log } from "../log.js";
import { FileSink, type EncodeOptions } from "../sinks/file.js";
import type { Frame } from "../types.js";
import type { StreamMetrics } from "./metrics.js";

/**
 * Records a live stream: the file opens at the first frame's size, stamped by wall clock, in a
 * container that plays however it ends (a full disk, or a process that exits without finishing
 * it: it is kept under its name then, see PartialFile). A failed write stops the
 * recording, never the stream its viewers watch: the failure is logged once and counted, and
 * the frames after it count as recording drops.
 */
export class Recorder {
  private sink: Promise<FileSink> | null = null;
  private failed = false;

  constructor(
    private readonly stream: string,
    private readonly output: string,
    private readonly encode: EncodeOptions,
    private readonly metrics: StreamMetrics,
  ) {}

  async write(frame: Frame): Promise<void> {
    if (this.failed) {
      this.metrics.recordingDropped++;
      return;
    }
    this.sink ??= FileSink.open({
      output: this.output, width: frame.width, height: frame.height, frameRate: "wallclock", startMs: 0, audioFrom: null, audioCodec: null, encode: this.encode, playableWhenCut: true,
    });
    try {
      await (await this.sink).write(frame);
    } catch (error) {
      this.fail(error as Error);
    }
  }

  /** Finish the file so it plays; nothing to do if no frame ever came. */
  async close(): Promise<void> {
    try {
      await (await this.sink?.catch(() => null))?.close();
    } catch (error) {
      // After a failure this says what was kept of the file.
      log.error(`${this.stream}: ${(error as Error).message}`);
    }
  }

  private fail(error: Error): void {
    this.failed = true;
    this.metrics.recordingFailures++;
    log.error(`${this.stream}: the recording stopped: ${error.message}`);
  }
}
