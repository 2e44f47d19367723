import sharp from "sharp";
import type { Frame } from "../types.js";

/**
 * `frame` scaled to fit `width` x `height` with its aspect kept, the rest black (letterbox or
 * pillarbox): a recording keeps one size when its camera changes resolution.
 */
export async function fitFrame(frame: Frame, width: number, height: number): Promise<Frame> {
  const rgb = await sharp(frame.rgb, { raw: { width: frame.width, height: frame.height, channels: 3 } })
    .resize(width, height, { fit: "contain", background: { r: 0, g: 0, b: 0 } })
    .removeAlpha()
    .raw()
    .toBuffer();
  return { ...frame, width, height, rgb: new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.length) };
}
