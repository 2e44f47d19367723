import type { LiveFrame } from "./live.js";

/**
 * One run of a live output: an encoder process, a file, a connection. It takes the camera's
 * deblurred frames one at a time until it fails; then `attachOutput` closes it and, after the
 * cameras' backoff, opens another. A run never restarts itself: the rules live in one place.
 */
export interface FrameOutput {
  /** Resolves once the frame is taken; rejects when this run has failed (the reason says why). */
  write(frame: LiveFrame): Promise<void>;
  /** Finish this run (a file playable, a stream ended). Safe to call twice. */
  close(): Promise<void>;
  /**
   * Resolves once the far end has taken the stream (an RTSP server's answer), where a frame
   * taken does not prove it. Without it, the first frame taken means the run is up.
   */
  readonly up?: Promise<void>;
}

/** A live output of a camera: how to open a run of it, and the buffer it needs. */
export interface OutputSpec {
  /** Its name in metrics, /healthz and logs: "recording", "hls", "publish", "viewer", "detector". */
  readonly name: string;
  /** How the log speaks of it: "the recording", "publishing to rtsp://…". */
  readonly title: string;
  /** Frames that may wait for it: 1 is latest-only (viewers, RTSP out); more where a frame lost is a hole (a recording). */
  readonly buffer: number;
  /** Every frame at the first frame's size (scaled to fit, black bars): an encoder holds one size. */
  readonly oneSize: boolean;
  /** Start a run, for frames of `width` x `height`. */
  open(width: number, height: number): Promise<FrameOutput>;
}
