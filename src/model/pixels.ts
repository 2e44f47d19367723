import type { Layout } from "./engine.js";

/** A rectangle of a frame, in pixels. */
export interface Region {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/**
 * Read `region` of a packed RGB24 image into float32 [0, 1] of size paddedHeight x paddedWidth
 * in the engine's layout, repeating the region's last row and column into the padding (as the
 * network's training data never had black borders).
 */
export function toFloat(
  rgb: Uint8Array,
  imageWidth: number,
  region: Region,
  paddedHeight: number,
  paddedWidth: number,
  layout: Layout,
): Float32Array {
  const out = new Float32Array(3 * paddedHeight * paddedWidth);
  const plane = paddedHeight * paddedWidth;
  for (let y = 0; y < paddedHeight; y++) {
    const sourceRow = (region.y + Math.min(y, region.height - 1)) * imageWidth;
    for (let x = 0; x < paddedWidth; x++) {
      const s = (sourceRow + region.x + Math.min(x, region.width - 1)) * 3;
      const p = y * paddedWidth + x;
      if (layout === "nhwc") {
        out[p * 3] = (rgb[s] as number) / 255;
        out[p * 3 + 1] = (rgb[s + 1] as number) / 255;
        out[p * 3 + 2] = (rgb[s + 2] as number) / 255;
      } else {
        out[p] = (rgb[s] as number) / 255;
        out[plane + p] = (rgb[s + 1] as number) / 255;
        out[2 * plane + p] = (rgb[s + 2] as number) / 255;
      }
    }
  }
  return out;
}

/** The value at (x, y, channel) of a float image in `layout`. */
export function sample(image: Float32Array, layout: Layout, height: number, width: number, x: number, y: number, channel: number): number {
  return layout === "nhwc" ? (image[(y * width + x) * 3 + channel] as number) : (image[(channel * height + y) * width + x] as number);
}

/** Float [0, 1] to a byte, rounded and clamped. */
export function toByte(value: number): number {
  return value <= 0 ? 0 : value >= 1 ? 255 : Math.round(value * 255);
}
