import { ConfigError } from "../errors.js";
import { availableMemory } from "../machine.js";
import { padded } from "../engine/engine.js";
import { spanCount, type TileSize } from "./tiles.js";

/** Half of this machine's memory, or of its container's where that is less. */
export function defaultMemoryLimitMB(): number {
  return Math.floor((0.5 * availableMemory()) / 2 ** 20);
}

/** What cutting a frame into tiles needs to know of the engine and the user's settings. */
export interface TilePlanning {
  readonly stride: number;
  readonly bytesPerPixel: number;
  readonly limitMB: number;
  readonly overlap: number;
  /** The user's square tile side (--tile), or null to choose. */
  readonly requested: number | null;
}

/**
 * The tiles to run a width x height frame in: the user's square ones when they chose a size;
 * else null (whole frames) while a whole frame fits in `limitMB`; else, of the tile sizes that
 * fit, the one that runs the fewest pixels in all, overlaps and padding counted. Tiles need not
 * be square: a 1280x720 frame of MAXIM under 12 GiB runs as two 1280x384 tiles (0.98 M padded
 * pixels), where the largest square that fits, 704, took four (1.98 M): 281-313 s instead of 587.
 */
export function tileFor(width: number, height: number, planning: TilePlanning): TileSize | null {
  const { stride, bytesPerPixel, limitMB, overlap, requested } = planning;
  if (requested !== null) return { width: requested, height: requested };
  const limit = limitMB * 2 ** 20;
  const paddedPixels = (w: number, h: number) => padded(w, stride) * padded(h, stride);
  if (paddedPixels(width, height) * bytesPerPixel <= limit) return null;

  let best: { tile: TileSize; pixels: number } | null = null;
  for (const tileWidth of tileLengths(width, stride, overlap)) {
    for (const tileHeight of tileLengths(height, stride, overlap)) {
      const perTile = paddedPixels(tileWidth, tileHeight);
      if (perTile * bytesPerPixel > limit) continue;
      const pixels = spanCount(width, tileWidth, overlap) * spanCount(height, tileHeight, overlap) * perTile;
      if (!best || pixels < best.pixels) best = { tile: { width: tileWidth, height: tileHeight }, pixels };
    }
  }
  if (!best) {
    throw new ConfigError(`deblur.memoryLimitMB (${limitMB}) is too small for even a ${2 * stride}-pixel tile; raise it or set --tile`);
  }
  return best.tile;
}

/**
 * The tile lengths worth trying along an axis of `size`, longest first: the whole axis, then for
 * each count of n spans the shortest multiple of `stride` (at least two strides) whose n
 * spans, overlapping by `overlap`, cover it.
 */
function tileLengths(size: number, stride: number, overlap: number): number[] {
  const lengths = [size];
  for (let n = 2; n <= Math.ceil(size / stride); n++) {
    const length = Math.max(2 * stride, padded(Math.ceil((size + (n - 1) * overlap) / n), stride));
    if (length <= overlap) break;
    if (length < (lengths.at(-1) as number)) lengths.push(length);
  }
  return lengths;
}
