import type { Frame } from "../types.js";
import type { Region } from "../engine/pixels.js";

/**
 * What moved in a frame. `whole`: the model must see all of it (the first frame, nothing to
 * compare with; or most of the picture changed at once: a moving camera, lights, an IR
 * switch). `regions`: boxes around what moved, in the frame's pixels; none when nothing did.
 */
export type Motion =
  | { readonly kind: "whole"; readonly reason: "first frame" | "whole-frame change" }
  | { readonly kind: "regions"; readonly boxes: readonly Region[] };

/**
 * The detector works on a small grey copy of the frame, about this many pixels wide: motion
 * blur is tens of pixels of movement, which a 4x smaller copy of VGA still sees, at 1/16 of the
 * cost (Frigate's detector does the same, at 100 to 180 rows).
 */
const DETECT_WIDTH = 160;

/** Grey levels (0-255, after a 3x3 blur that evens out sensor noise) that count as a change. */
const THRESHOLD = 20;

/** More than this share of the small copy changed at once: a whole-frame change. */
const WHOLE_FRAME_SHARE = 0.5;

/** Changed areas smaller than this many pixels of the small copy are noise (a leaf, a compression block). */
const MIN_AREA = 6;

/**
 * A per-stream motion detector in the manner of Frigate's (frigate/motion/improved_motion.py):
 * the frame is shrunk to grey and blurred, changed pixels are dilated and joined into connected
 * areas, whose boxes are what moved. Frigate compares with a running average of the past (it
 * looks for objects, standing ones included); here each frame is compared with the one before,
 * because blur is where the picture changed during the exposure: a person standing still is
 * sharp, and the ghosts an average keeps of where people were are not blurred either. Cheap
 * beside any model: a few milliseconds a frame in plain loops.
 */
export class MotionDetector {
  private previous: Float32Array | null = null;
  private size = "";

  detect(frame: Frame): Motion {
    const grey = shrink(frame);
    const size = `${frame.width}x${frame.height}`;
    const previous = this.previous;
    this.previous = grey.pixels;
    if (!previous || frame.discontinuity || size !== this.size) {
      this.size = size;
      return { kind: "whole", reason: "first frame" };
    }
    const changed = new Uint8Array(grey.pixels.length);
    let count = 0;
    for (let p = 0; p < changed.length; p++) {
      if (Math.abs((grey.pixels[p] as number) - (previous[p] as number)) > THRESHOLD) {
        changed[p] = 1;
        count++;
      }
    }
    if (count > WHOLE_FRAME_SHARE * changed.length) return { kind: "whole", reason: "whole-frame change" };
    const areas = connectedBoxes(dilate(changed, grey.width, grey.height), grey.width, grey.height);
    const boxes = areas.filter((area) => area.pixels >= MIN_AREA).map((area) => toFrame(area, grey.factor, frame.width, frame.height));
    return { kind: "regions", boxes };
  }

  /** Forget the frame before: the next is compared with nothing (a cut, a reconnect). */
  reset(): void {
    this.previous = null;
  }
}

interface Grey {
  readonly pixels: Float32Array;
  readonly width: number;
  readonly height: number;
  /** Frame pixels per grey pixel along each axis. */
  readonly factor: number;
}

/** The frame's luma, averaged over factor x factor blocks, then blurred 3x3. */
function shrink(frame: Frame): Grey {
  const factor = Math.max(1, Math.floor(frame.width / DETECT_WIDTH));
  const width = Math.max(1, Math.floor(frame.width / factor));
  const height = Math.max(1, Math.floor(frame.height / factor));
  const sums = new Float32Array(width * height);
  const { rgb } = frame;
  for (let y = 0; y < height * factor; y++) {
    const row = Math.floor(y / factor) * width;
    let s = y * frame.width * 3;
    for (let x = 0; x < width * factor; x++, s += 3) {
      // BT.601 luma: what a grey picture of the scene would show.
      const luma = 0.299 * (rgb[s] as number) + 0.587 * (rgb[s + 1] as number) + 0.114 * (rgb[s + 2] as number);
      const p = row + Math.floor(x / factor);
      sums[p] = (sums[p] as number) + luma;
    }
  }
  const block = factor * factor;
  for (let p = 0; p < sums.length; p++) sums[p] = (sums[p] as number) / block;
  return { pixels: blur3(sums, width, height), width, height, factor };
}

/** A 3x3 box blur, the border repeated. */
function blur3(pixels: Float32Array, width: number, height: number): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let dy = -1; dy <= 1; dy++) {
        const row = Math.min(height - 1, Math.max(0, y + dy)) * width;
        for (let dx = -1; dx <= 1; dx++) sum += pixels[row + Math.min(width - 1, Math.max(0, x + dx))] as number;
      }
      out[y * width + x] = sum / 9;
    }
  }
  return out;
}

/** Grow every changed pixel into its 3x3 neighbourhood: the parts of one moving thing join up. */
function dilate(mask: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!mask[y * width + x]) continue;
      for (let dy = Math.max(0, y - 1); dy <= Math.min(height - 1, y + 1); dy++) {
        out.fill(1, dy * width + Math.max(0, x - 1), dy * width + Math.min(width - 1, x + 1) + 1);
      }
    }
  }
  return out;
}

interface Area extends Region {
  /** Changed pixels in it. */
  readonly pixels: number;
}

/** The bounding box of each 8-connected area of set pixels. */
function connectedBoxes(mask: Uint8Array, width: number, height: number): Area[] {
  const seen = new Uint8Array(mask.length);
  const areas: Area[] = [];
  const stack: number[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    let [left, top, right, bottom, pixels] = [width, height, -1, -1, 0];
    seen[start] = 1;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop() as number;
      const x = p % width;
      const y = (p - x) / width;
      pixels++;
      [left, top, right, bottom] = [Math.min(left, x), Math.min(top, y), Math.max(right, x), Math.max(bottom, y)];
      for (let ny = Math.max(0, y - 1); ny <= Math.min(height - 1, y + 1); ny++) {
        for (let nx = Math.max(0, x - 1); nx <= Math.min(width - 1, x + 1); nx++) {
          const q = ny * width + nx;
          if (mask[q] && !seen[q]) {
            seen[q] = 1;
            stack.push(q);
          }
        }
      }
    }
    areas.push({ x: left, y: top, width: right - left + 1, height: bottom - top + 1, pixels });
  }
  return areas;
}

/** A box of the grey copy in the frame's pixels; one on the copy's last row or column reaches the frame's edge. */
function toFrame(area: Area, factor: number, frameWidth: number, frameHeight: number): Region {
  const x = area.x * factor;
  const y = area.y * factor;
  const right = area.x + area.width >= Math.floor(frameWidth / factor) ? frameWidth : (area.x + area.width) * factor;
  const bottom = area.y + area.height >= Math.floor(frameHeight / factor) ? frameHeight : (area.y + area.height) * factor;
  return { x, y, width: right - x, height: bottom - y };
}
