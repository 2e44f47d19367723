/** How an engine lays out float images: ONNX as planes (NCHW), TensorFlow as pixels (NHWC). */
export type Layout = "nchw" | "nhwc";

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
 * network's training data never had black borders). One pass over the pixels in plain loops:
 * this and `toBytes` run for every frame, beside inference on the same cores.
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
  const { width, height } = region;
  for (let y = 0; y < height; y++) {
    const row = y * paddedWidth;
    let s = ((region.y + y) * imageWidth + region.x) * 3;
    if (layout === "nchw") {
      for (let p = row; p < row + width; p++, s += 3) {
        out[p] = (rgb[s] as number) / 255;
        out[plane + p] = (rgb[s + 1] as number) / 255;
        out[2 * plane + p] = (rgb[s + 2] as number) / 255;
      }
      for (let c = 0; c < 3; c++) out.fill(out[c * plane + row + width - 1] as number, c * plane + row + width, c * plane + row + paddedWidth);
    } else {
      for (let i = row * 3; i < (row + width) * 3; i++, s++) out[i] = (rgb[s] as number) / 255;
      for (let p = row + width; p < row + paddedWidth; p++) out.copyWithin(p * 3, (row + width - 1) * 3, (row + width) * 3);
    }
  }
  const lastRow = (height - 1) * paddedWidth;
  for (let y = height; y < paddedHeight; y++) {
    if (layout === "nchw") {
      for (let c = 0; c < 3; c++) out.copyWithin(c * plane + y * paddedWidth, c * plane + lastRow, c * plane + lastRow + paddedWidth);
    } else {
      out.copyWithin(y * paddedWidth * 3, lastRow * 3, (lastRow + paddedWidth) * 3);
    }
  }
  return out;
}

/**
 * Write an engine's float [0, 1] output (paddedHeight x paddedWidth, in `layout`) into `rgb`, a
 * packed RGB24 frame `frameWidth` wide, at `region`'s place, cropping the padding. Values are
 * rounded and clamped by the Uint8ClampedArray they are stored through.
 */
export function toBytes(image: Float32Array, layout: Layout, paddedHeight: number, paddedWidth: number, region: Region, rgb: Uint8Array, frameWidth: number): void {
  const bytes = clamped(rgb);
  const plane = paddedHeight * paddedWidth;
  for (let y = 0; y < region.height; y++) {
    const row = y * paddedWidth;
    let d = ((region.y + y) * frameWidth + region.x) * 3;
    if (layout === "nchw") {
      for (let p = row; p < row + region.width; p++, d += 3) {
        bytes[d] = (image[p] as number) * 255;
        bytes[d + 1] = (image[plane + p] as number) * 255;
        bytes[d + 2] = (image[2 * plane + p] as number) * 255;
      }
    } else {
      for (let i = row * 3; i < (row + region.width) * 3; i++, d++) bytes[d] = (image[i] as number) * 255;
    }
  }
}

/** The same bytes, stored through with rounding and clamping to 0-255. */
export function clamped(rgb: Uint8Array): Uint8ClampedArray {
  return new Uint8ClampedArray(rgb.buffer, rgb.byteOffset, rgb.length);
}

/** The value at (x, y, channel) of a float image in `layout`. */
export function sample(image: Float32Array, layout: Layout, height: number, width: number, x: number, y: number, channel: number): number {
  return layout === "nhwc" ? (image[(y * width + x) * 3 + channel] as number) : (image[(channel * height + y) * width + x] as number);
}

/** `region` of a packed RGB24 frame `frameWidth` wide, as a packed RGB24 image of its own. */
export function crop(rgb: Uint8Array, frameWidth: number, region: Region): Uint8Array {
  const rowBytes = region.width * 3;
  const out = new Uint8Array(rowBytes * region.height);
  for (let y = 0; y < region.height; y++) {
    const start = ((region.y + y) * frameWidth + region.x) * 3;
    out.set(rgb.subarray(start, start + rowBytes), y * rowBytes);
  }
  return out;
}
