import { padded } from "../engine/engine.js";
import { crop, type Region } from "../engine/pixels.js";

/** Where a tile lies on a sheet. */
export interface Placement {
  /** The tile's index in the plan. */
  readonly tile: number;
  readonly x: number;
  readonly y: number;
}

/**
 * One input of the model: one tile, or several side by side. A model converted per input size
 * (MAXIM) pads each input up to its stride, 64 pixels, so a walker and its context, 52x82 say,
 * would cost a 64x128 input of its own; two walkers side by side share one 128x128 with less
 * padding (shelf packing, as texture atlases pack sprites).
 */
export interface Sheet {
  readonly width: number;
  readonly height: number;
  readonly placements: readonly Placement[];
  /**
   * The frame's pixels the sheet shows around a tile it holds alone: widened to the stride, the
   * sheet gets the tile's surroundings as context where it would get its edge repeated; null:
   * mid-grey between the tiles.
   */
  readonly source: Region | null;
}

interface Shelf {
  readonly y: number;
  readonly height: number;
  width: number;
}

interface OpenSheet {
  width: number;
  height: number;
  readonly shelves: Shelf[];
  readonly placements: Placement[];
}

/** The sheets for one tile each: for an engine that runs any input size. */
export function sheetPerTile(tiles: readonly Region[]): Sheet[] {
  return tiles.map((tile, i) => ({ width: tile.width, height: tile.height, placements: [{ tile: i, x: 0, y: 0 }], source: null }));
}

/**
 * Each sheet that holds one tile widened to the stride with the frame around the tile (centred
 * on it, kept inside the frame of width x height): the model pads its input to the stride
 * anyway, and sees real context there rather than the tile's edge repeated.
 */
export function widenLoneSheets(sheets: readonly Sheet[], tiles: readonly Region[], width: number, height: number, stride: number): Sheet[] {
  const around = (start: number, length: number, size: number): [number, number] => {
    const wanted = Math.min(size, padded(length, stride));
    return [Math.min(Math.max(0, start - Math.floor((wanted - length) / 2)), size - wanted), wanted];
  };
  return sheets.map((sheet) => {
    const [only] = sheet.placements;
    if (sheet.placements.length !== 1 || !only) return sheet;
    const tile = tiles[only.tile] as Region;
    const [x, sourceWidth] = around(tile.x, tile.width, width);
    const [y, sourceHeight] = around(tile.y, tile.height, height);
    return { width: sourceWidth, height: sourceHeight, placements: [{ tile: only.tile, x: tile.x - x, y: tile.y - y }], source: { x, y, width: sourceWidth, height: sourceHeight } };
  });
}

/**
 * Tiles, none larger than limit x limit, packed onto sheets of at most that size, so that the
 * model runs on few padded pixels: the tallest first, each onto the shelf (a row of a sheet, as
 * tall as its first tile) or the new shelf where it adds the fewest padded pixels, or onto a
 * sheet of its own where that costs less.
 */
export function packSheets(tiles: readonly Region[], limit: number, stride: number): Sheet[] {
  const cost = (width: number, height: number) => padded(width, stride) * padded(height, stride);
  const order = tiles.map((_, i) => i).sort((a, b) => (tiles[b] as Region).height - (tiles[a] as Region).height || (tiles[b] as Region).width - (tiles[a] as Region).width);
  const sheets: OpenSheet[] = [];
  for (const i of order) {
    const { width, height } = tiles[i] as Region;
    let best: { sheet: OpenSheet; shelf: Shelf | null; added: number } | null = null;
    for (const sheet of sheets) {
      const now = cost(sheet.width, sheet.height);
      for (const shelf of sheet.shelves) {
        if (shelf.width + width > limit || height > shelf.height) continue;
        const added = cost(Math.max(sheet.width, shelf.width + width), sheet.height) - now;
        if (!best || added < best.added) best = { sheet, shelf, added };
      }
      if (sheet.height + height <= limit) {
        const added = cost(Math.max(sheet.width, width), sheet.height + height) - now;
        if (!best || added < best.added) best = { sheet, shelf: null, added };
      }
    }
    if (!best || best.added >= cost(width, height)) {
      sheets.push({ width, height, shelves: [{ y: 0, height, width }], placements: [{ tile: i, x: 0, y: 0 }] });
      continue;
    }
    const { sheet } = best;
    const shelf = best.shelf ?? { y: sheet.height, height, width: 0 };
    if (!best.shelf) sheet.shelves.push(shelf);
    sheet.placements.push({ tile: i, x: shelf.width, y: shelf.y });
    shelf.width += width;
    sheet.width = Math.max(sheet.width, shelf.width);
    sheet.height = Math.max(sheet.height, shelf.y + shelf.height);
  }
  return sheets.map(({ width, height, placements }) => ({ width, height, placements, source: null }));
}

/** Pixels the model runs for `sheets`: each padded to the stride. */
export function sheetPixels(sheets: readonly Sheet[], stride: number): number {
  return sheets.reduce((sum, sheet) => sum + padded(sheet.width, stride) * padded(sheet.height, stride), 0);
}

/** Mid-grey between the tiles of a sheet: no edge the model would take for a feature of the frame. */
const GAP = 128;

/**
 * The sheet's image: its source, or each tile's pixels from the frame at its place. (Bordering
 * each tile with the frame around it, 16 pixels into the gaps, gained nothing over grey: -0.04
 * to -0.12 dB in the moving areas of three clips, MAXIM, 2026-12-06.)
 */
export function drawSheet(rgb: Uint8Array, frameWidth: number, tiles: readonly Region[], sheet: Sheet): Uint8Array {
  if (sheet.source) return crop(rgb, frameWidth, sheet.source);
  const out = new Uint8Array(sheet.width * sheet.height * 3).fill(GAP);
  for (const { tile, x, y } of sheet.placements) {
    const region = tiles[tile] as Region;
    for (let row = 0; row < region.height; row++) {
      const from = ((region.y + row) * frameWidth + region.x) * 3;
      out.set(rgb.subarray(from, from + region.width * 3), ((y + row) * sheet.width + x) * 3);
    }
  }
  return out;
}

/** Each tile's pixels cut back out of the model's output for the sheet, by tile index. */
export function cutSheet(output: Uint8Array, tiles: readonly Region[], sheet: Sheet): Map<number, Uint8Array> {
  const cut = new Map<number, Uint8Array>();
  for (const { tile, x, y } of sheet.placements) {
    const { width, height } = tiles[tile] as Region;
    cut.set(tile, crop(output, sheet.width, { x, y, width, height }));
  }
  return cut;
}
