import { filter, type OperatorFunction } from "rxjs";
import type { Detector } from "../detector/detector.js";
import type { Detection, Frame } from "../types.js";
import { dropOldest } from "./drop-oldest.js";

/** What the detector found in one frame: a JSON line of the detections output. */
export interface FrameDetections {
  readonly stream: string;
  readonly index: number;
  readonly ptsMs: number;
  readonly detections: readonly Detection[];
}

export interface DetectOptions {
  /** Look at every Nth frame only (1: every frame it can keep up with). */
  readonly every: number;
  /** Called for each frame the detector had to skip because it was still busy. */
  readonly onSkip?: (frame: Frame) => void;
}

/**
 * Run the detector beside the main chain with its own one-frame, latest-only input: while it
 * works on a frame, newer frames replace the waiting one. A slow detector therefore skips
 * frames instead of stalling the file sink or the viewers.
 */
export function detect(detector: Detector, options: DetectOptions): OperatorFunction<Frame, FrameDetections> {
  return (frames) =>
    frames.pipe(
      filter((frame) => frame.index % options.every === 0),
      dropOldest(
        1,
        async (frame) => ({ stream: frame.stream, index: frame.index, ptsMs: frame.ptsMs, detections: await detector.detect(frame) }),
        options.onSkip,
      ),
    );
}
