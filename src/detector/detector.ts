import type { TfjsBackend } from "../tensorflow/load.js";
import type { Detection, Frame } from "../types.js";

export interface DetectorOptions {
  readonly backend: TfjsBackend;
  /** Keep only these COCO labels; empty: all 80. */
  readonly classes: readonly string[];
  readonly minScore: number;
  /** Boxes overlapping a better one by more than this IoU are suppressed. */
  readonly iou: number;
  readonly maxDetections: number;
}

/** A COCO object detector, in this thread (CenternetDetector) or in a worker (startDetector). */
export interface Detector {
  /** The TensorFlow.js backend it runs on. */
  readonly backend: string;
  detect(frame: Frame): Promise<Detection[]>;
  close(): Promise<void>;
}
