/** Plain data shared by sources, model, sinks and pipeline. Tensors never appear here. */

/** One decoded video frame: packed RGB24, row-major, no padding between rows. */
export interface Frame {
  /** Which stream the frame belongs to (a file path or a camera name). */
  readonly stream: string;
  /** 0-based position in the stream, counting every frame the source produced. */
  readonly index: number;
  /** Presentation time in milliseconds on the source's clock (a file's own, which may start above 0). */
  readonly ptsMs: number;
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
  /** Live sources: when the frame arrived (ms since the epoch), where latency is measured from. */
  readonly receivedAtMs?: number;
  /** Set on the first frame after a gap (reconnect, seek): carried model state must reset. */
  readonly discontinuity?: boolean;
}

/** What a source learned about its video before the first frame. */
export interface VideoInfo {
  readonly width: number;
  readonly height: number;
  /** Average frame rate, frames per second. */
  readonly fps: number;
  /** Exact rational frame rate as ffmpeg writes it, e.g. "30000/1001". */
  readonly frameRate: string;
  /** The stream's time base, e.g. "1/15360": the unit of its timestamps, kept in the output. */
  readonly timeBase: string;
  /** Bits per colour sample of the decoded video (8, 10, 12...); the pipeline works in 8. */
  readonly bitDepth: number;
  readonly startMs: number;
  readonly durationMs: number | null;
  /** Frame count the container announces (MP4 does, Matroska does not), or null. */
  readonly frameCount: number | null;
  readonly audioCodec: string | null;
  /** Video streams in the input; only the first is read. */
  readonly videoStreams: number;
}

/**
 * Lossless flow control: a source calls `acquire()` before producing each frame and the
 * consumer releases the slot once the frame has been fully handled. Implemented in pipeline.
 */
export interface Gate {
  acquire(): Promise<void>;
}

/** One object a detector found in a frame. */
export interface Detection {
  readonly label: string;
  readonly score: number;
  /** Pixels of the frame: left, top, width, height. */
  readonly box: readonly [number, number, number, number];
}
