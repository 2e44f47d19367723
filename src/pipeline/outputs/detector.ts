import type { Detector } from "../../detector/detector.js";
import type { JsonLinesSink } from "../../sinks/jsonl.js";
import type { Detection } from "../../types.js";
import type { FrameDetections } from "../detect.js";
import type { OutputSpec } from "../frame-output.js";

export interface DetectorOutputOptions {
  readonly detector: Detector;
  /** Look at every Nth frame only (1: every frame it keeps up with). */
  readonly every: number;
  /** Each frame's detections as a JSON line; null: none. */
  readonly jsonl: JsonLinesSink | null;
  /** The newest boxes, for the viewers and the burnt-in recording. */
  readonly found: (detections: readonly Detection[]) => void;
}

/**
 * The COCO detector on the deblurred frames, latest-only: while it works on a frame, newer
 * frames replace the waiting one, so a slow detector skips frames instead of stalling anything.
 */
export function detectorOutput(options: DetectorOutputOptions): OutputSpec {
  return {
    name: "detector",
    title: "the detector",
    buffer: 1,
    oneSize: false,
    open: async () => ({
      write: async ({ sharp }) => {
        if (sharp.index % options.every !== 0) return;
        const result: FrameDetections = { stream: sharp.stream, index: sharp.index, ptsMs: sharp.ptsMs, detections: await options.detector.detect(sharp) };
        options.found(result.detections);
        await options.jsonl?.write(result);
      },
      close: async () => undefined,
    }),
  };
}
