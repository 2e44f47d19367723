import type { Frame } from "../types.js";
import type { Detection } from "../types.js";

const COLOUR = [255, 48, 48] as const;
const THICKNESS = 2;

/** A copy of `frame` with each detection's box outlined, for burning into a recording. */
export function drawBoxes(frame: Frame, detections: readonly Detection[]): Frame {
  if (detections.length === 0) return frame;
  const rgb = new Uint8Array(frame.rgb);
  const paint = (x: number, y: number) => {
    if (x < 0 || y < 0 || x >= frame.width || y >= frame.height) return;
    rgb.set(COLOUR, (y * frame.width + x) * 3);
  };
  for (const { box } of detections) {
    const [x0, y0] = [Math.round(box[0]), Math.round(box[1])];
    const [x1, y1] = [Math.round(box[0] + box[2]), Math.round(box[1] + box[3])];
    for (let t = 0; t < THICKNESS; t++) {
      for (let x = x0; x <= x1; x++) {
        paint(x, y0 + t);
        paint(x, y1 - t);
      }
      for (let y = y0; y <= y1; y++) {
        paint(x0 + t, y);
        paint(x1 - t, y);
      }
    }
  }
  return { ...frame, rgb };
}
