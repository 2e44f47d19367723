import type { Region } from "../engine/pixels.js";

/** The size of the tiles a frame is cut into; every tile of a frame has it (or the frame's, along an axis it spans). */
export interface TileSize {
  readonly width: number;
  readonly height: number;
}

export interface Tile extends Region {
  /** Blend weight of pixel (x, y) of this tile, relative to the tile's origin. */
  weight(x: number, y: number): number;
}

interface Span {
  readonly start: number;
  readonly length: number;
  readonly rampBefore: boolean;
  readonly rampAfter: boolean;
}

/** How many spans of `tile` cover [0, size) with neighbours overlapping by at least `overlap`. */
export function spanCount(size: number, tile: number, overlap: number): number {
  return size <= tile ? 1 : Math.ceil((size - overlap) / (tile - overlap));
}

/** Cover [0, size) with spans of `tile`, neighbours overlapping by at least `overlap`. */
function spans(size: number, tile: number, overlap: number): Span[] {
  if (size <= tile) return [{ start: 0, length: size, rampBefore: false, rampAfter: false }];
  const count = spanCount(size, tile, overlap);
  const step = (size - tile) / (count - 1);
  return Array.from({ length: count }, (_, i) => ({
    start: Math.round(i * step),
    length: tile,
    rampBefore: i > 0,
    rampAfter: i < count - 1,
  }));
}

/** Weight along one axis: a linear ramp across the overlap with each neighbour, 1 elsewhere. */
function ramp(p: number, span: Span, overlap: number): number {
  let w = 1;
  if (span.rampBefore) w = Math.min(w, (p + 0.5) / overlap);
  if (span.rampAfter) w = Math.min(w, (span.length - p - 0.5) / overlap);
  return w;
}

/**
 * Overlapping tiles for frames too large to run whole. Weights ramp linearly across every
 * overlap, so blending the tiles' outputs (sum of weight x value over sum of weights) leaves
 * no seams. A frame no larger than `tile` is a single tile of weight 1.
 */
export function planTiles(width: number, height: number, tile: TileSize | null, overlap: number): Tile[] {
  const xs = spans(width, tile?.width ?? width, overlap);
  const ys = spans(height, tile?.height ?? height, overlap);
  return ys.flatMap((sy) =>
    xs.map((sx) => ({
      x: sx.start,
      y: sy.start,
      width: sx.length,
      height: sy.length,
      weight: (x: number, y: number) => ramp(x, sx, overlap) * ramp(y, sy, overlap),
    })),
  );
}
