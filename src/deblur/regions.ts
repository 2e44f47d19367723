import { padded } from "../engine/engine.js";
import { clamped, type Region } from "../engine/pixels.js";
import { packSheets, sheetPerTile, sheetPixels, widenLoneSheets, type Sheet } from "./sheets.js";
import { planTiles, type TileSize } from "./tiles.js";

/**
 * Where a frame goes through the model when only parts of it moved. Each area is what moved,
 * grown by a margin (the blur trails the object); the tiles cover the areas and some context
 * around them, and lie on the sheets the model runs on. Areas may overlap: each pixel takes the
 * blend of every tile over it.
 */
export interface RegionPlan {
  readonly areas: readonly Region[];
  readonly tiles: readonly Region[];
  readonly sheets: readonly Sheet[];
  /** Pixels that go through the model: the sheets', padded to the stride. */
  readonly modelPixels: number;
}

export interface RegionOptions {
  /** Pixels added on every side of what moved. */
  readonly margin: number;
  /**
   * Pixels around each area that its tiles show the model but the frame does not take back:
   * the model's output is poorer near a tile's border, where its convolutions see padding.
   */
  readonly context: number;
  /** Tiles that meet overlap by this much, blended across it. */
  readonly overlap: number;
  /** The model's stride: its inputs are padded to multiples of it. */
  readonly stride: number;
  /**
   * No tile side longer than this (a multiple of the stride), for a model converted per input
   * size (Engine.regionTileLimit): it bounds how many sizes the areas bring; null: no bound.
   */
  readonly tileLimit: number | null;
  /** The largest tile an area of width x height may run in, as memory allows; null: whole. */
  readonly memoryTile: (width: number, height: number) => TileSize | null;
}

/** Plan the areas and tiles for `boxes` (what moved) in a frame of width x height. */
export function planRegions(boxes: readonly Region[], width: number, height: number, options: RegionOptions): RegionPlan {
  const tilesOf = (area: Region) => tilesOver(area, width, height, options);
  const grown = boxes.map((box) => clampTo(grow(box, options.margin), width, height));
  const areas = mergeWhereCheaper(grown, (area) => pixelsOf(tilesOf(area)));
  const tiles = areas.flatMap(tilesOf);
  const packed = options.tileLimit === null ? sheetPerTile(tiles) : packSheets(tiles, options.tileLimit, options.stride);
  const sheets = widenLoneSheets(packed, tiles, width, height, options.stride);
  return { areas, tiles, sheets, modelPixels: sheetPixels(sheets, options.stride) };
}

/**
 * The frame with its areas replaced by the model's output (`sharp[i]` for `plan.tiles[i]`),
 * blended into the untouched frame across a band of `feather` pixels inside each area's border
 * (none where the area meets the frame's edge), so no seam shows. Where tiles overlap, each
 * pixel is their mean, weighted by ramps across the overlap. Every pixel outside the areas
 * keeps the input's own byte.
 */
export function composite(rgb: Uint8Array, width: number, height: number, plan: RegionPlan, sharp: readonly Uint8Array[], feather: number, overlap: number): Uint8Array {
  if (sharp.length !== plan.tiles.length) throw new Error(`${sharp.length} outputs for the ${plan.tiles.length} tiles of the frame's regions`);
  const out = Uint8Array.from(rgb);
  const bytes = clamped(out);
  for (const area of plan.areas) {
    const sum = new Float32Array(area.width * area.height * 3);
    const weights = new Float32Array(area.width * area.height);
    plan.tiles.forEach((tile, i) => accumulateInto(area, tile, sharp[i] as Uint8Array, width, height, overlap, sum, weights));
    for (let y = area.y; y < area.y + area.height; y++) {
      for (let x = area.x; x < area.x + area.width; x++) {
        // Overlapping areas: the most opaque wins, so a pixel is the same whichever area writes it.
        let alpha = 0;
        for (const other of plan.areas) alpha = Math.max(alpha, opacity(other, x, y, width, height, feather));
        const a = (y - area.y) * area.width + (x - area.x);
        const p = (y * width + x) * 3;
        const w = weights[a] as number;
        for (let c = 0; c < 3; c++) {
          const original = rgb[p + c] as number;
          bytes[p + c] = original + alpha * ((sum[a * 3 + c] as number) / w - original);
        }
      }
    }
  }
  return out;
}

function pixelsOf(tiles: readonly Region[]): number {
  return tiles.reduce((sum, tile) => sum + tile.width * tile.height, 0);
}

function grow(box: Region, margin: number): Region {
  return { x: box.x - margin, y: box.y - margin, width: box.width + 2 * margin, height: box.height + 2 * margin };
}

function clampTo(box: Region, width: number, height: number): Region {
  const x = Math.max(0, box.x);
  const y = Math.max(0, box.y);
  return { x, y, width: Math.min(width, box.x + box.width) - x, height: Math.min(height, box.y + box.height) - y };
}

function overlaps(a: Region, b: Region): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

function union(a: Region, b: Region): Region {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, width: Math.max(a.x + a.width, b.x + b.width) - x, height: Math.max(a.y + a.height, b.y + b.height) - y };
}

/**
 * Overlapping areas become one where that costs the model no more than the two apart (one
 * person's head and legs, two people side by side), and stay apart where their union would
 * cover much that did not move (two people far apart whose margins touch).
 */
function mergeWhereCheaper(areas: readonly Region[], cost: (area: Region) => number): Region[] {
  const merged = [...areas];
  for (let i = 0; i < merged.length; i++) {
    for (let j = i + 1; j < merged.length; j++) {
      const [a, b] = [merged[i] as Region, merged[j] as Region];
      if (!overlaps(a, b) || cost(union(a, b)) > cost(a) + cost(b)) continue;
      merged[i] = union(a, b);
      merged.splice(j, 1);
      // The union may now reach areas already passed: look at all of them again.
      j = i;
    }
  }
  return merged;
}

/**
 * Tiles over `area` and its context: one, or several of the shortest sides that cover it within
 * the tile limit and the memory limit.
 */
function tilesOver(area: Region, width: number, height: number, options: RegionOptions): Region[] {
  const seen = clampTo(grow(area, options.context), width, height);
  const memory = options.memoryTile(seen.width, seen.height);
  const side = (length: number, memoryLength: number | undefined) => spanLength(length, Math.min(memoryLength ?? Infinity, options.tileLimit ?? Infinity), options);
  const tile = { width: side(seen.width, memory?.width), height: side(seen.height, memory?.height) };
  return planTiles(seen.width, seen.height, tile, options.overlap).map((t) => ({ x: t.x + seen.x, y: t.y + seen.y, width: t.width, height: t.height }));
}

/**
 * The side of the tiles that cover `length` along one axis with none longer than `limit`: the
 * whole length where it fits, else for the fewest spans that fit, the shortest multiple of the
 * stride whose spans, overlapping as planTiles overlaps them, cover it.
 */
function spanLength(length: number, limit: number, options: Pick<RegionOptions, "stride" | "overlap">): number {
  if (length <= limit) return length;
  for (let spans = 2; ; spans++) {
    const side = padded(Math.ceil((length + (spans - 1) * options.overlap) / spans), options.stride);
    if (side <= limit || side <= options.overlap + options.stride) return Math.min(side, limit);
  }
}

/**
 * Blend weight of frame pixel (x, y) in `tile`: a linear ramp across `overlap` pixels inside each
 * of its sides, except those on the frame's edge, so that tiles meeting at any angle blend.
 */
function tileWeight(tile: Region, x: number, y: number, width: number, height: number, overlap: number): number {
  return ramp(x - tile.x, tile.width, tile.x === 0, tile.x + tile.width === width, overlap) * ramp(y - tile.y, tile.height, tile.y === 0, tile.y + tile.height === height, overlap);
}

/** How much of the model's output pixel (x, y) takes from `area`: 0 outside it, a ramp over `feather` pixels inside its border. */
function opacity(area: Region, x: number, y: number, width: number, height: number, feather: number): number {
  if (x < area.x || y < area.y || x >= area.x + area.width || y >= area.y + area.height) return 0;
  return ramp(x - area.x, area.width, area.x === 0, area.x + area.width === width, feather) * ramp(y - area.y, area.height, area.y === 0, area.y + area.height === height, feather);
}

/** Along one axis, position `i` of a span of `length`: rising over `band` pixels from each side that is not at the frame's edge. */
function ramp(i: number, length: number, atStart: boolean, atEnd: boolean, band: number): number {
  if (band === 0) return 1;
  const fromStart = atStart ? Infinity : (i + 0.5) / band;
  const fromEnd = atEnd ? Infinity : (length - i - 0.5) / band;
  return Math.min(1, fromStart, fromEnd);
}

/** Add a tile's output, by its blend weights, to the pixels of `area` it covers. */
function accumulateInto(area: Region, tile: Region, rgb: Uint8Array, width: number, height: number, overlap: number, sum: Float32Array, weights: Float32Array): void {
  const left = Math.max(area.x, tile.x);
  const right = Math.min(area.x + area.width, tile.x + tile.width);
  const top = Math.max(area.y, tile.y);
  const bottom = Math.min(area.y + area.height, tile.y + tile.height);
  for (let y = top; y < bottom; y++) {
    for (let x = left; x < right; x++) {
      const w = tileWeight(tile, x, y, width, height, overlap);
      const a = (y - area.y) * area.width + (x - area.x);
      const s = ((y - tile.y) * tile.width + (x - tile.x)) * 3;
      weights[a] = (weights[a] as number) + w;
      for (let c = 0; c < 3; c++) sum[a * 3 + c] = (sum[a * 3 + c] as number) + w * (rgb[s + c] as number);
    }
  }
}
