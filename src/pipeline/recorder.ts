import { log } from "../log.js";
import { FileSink, type EncodeOptions } from "../sinks/file.js";
import { fitFrame } from "../sinks/fit-frame.js";
import type { Frame } from "../types.js";
import type { StreamMetrics } from "./metrics.js";

/**
 * Records a live stream: the file opens at the first frame's size, stamped by wall clock, in a
 * container that plays however it ends (a full disk, or a process that exits without finishing
 * it: it is kept under its name then, see PartialFile). A failed write stops the
 * recording, never the stream its viewers watch: the failure is logged once and counted, and
 * the frames after it count as recording drops. A camera back at another resolution goes on in
 * the same file, each frame scaled to fit the first size (aspect kept, black bars), said once
 * per change: one recording per camera, as --record promises, rather than a new file at each
 * change for whoever reads them to find.
 */
export class Recorder {
  private sink: Promise<FileSink> | null = null;
  private size: { readonly width: number; readonly height: number } | null = null;
  /** The camera size last told about, so a change is said once. */
  private told: string | null = null;
  private failed = false;

  constructor(
    private readonly stream: string,
    private readonly output: string,
    private readonly encode: EncodeOptions,
    private readonly metrics: StreamMetrics,
  ) {}

  async write(frame: Frame): Promise<void> {
    if (this.failed) {
      this.metrics.recordingDropped();
      return;
    }
    const { width, height } = (this.size ??= { width: frame.width, height: frame.height });
    this.sink ??= FileSink.open({
      output: this.output, width, height, timing: { clock: "wallclock" }, audioFrom: null, audioCodec: null, encode: this.encode, playableWhenCut: true,
    });
    try {
      await (await this.sink).write(await this.fitted(frame, width, height));
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

  private async fitted(frame: Frame, width: number, height: number): Promise<Frame> {
    if (frame.width === width && frame.height === height) {
      this.told = null;
      return frame;
    }
    const incoming = `${frame.width}x${frame.height}`;
    if (this.told !== incoming) {
      this.told = incoming;
      log.info(`${this.output}: the camera now sends ${incoming}; the recording goes on at its first size, ${width}x${height}, each frame scaled to fit`);
    }
    return fitFrame(frame, width, height);
  }

  private fail(error: Error): void {
    this.failed = true;
    this.metrics.recordingFailed();
    log.error(`${this.stream}: the recording stopped: ${error.message}`);
  }
}
