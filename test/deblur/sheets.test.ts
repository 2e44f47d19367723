import { describe, expect, it } from "vitest";
import { crop, type Region } from "../../src/engine/pixels.js";
import { cutSheet, drawSheet, packSheets, sheetPerTile, sheetPixels } from "../../src/deblur/sheets.js";

const [width, height] = [384, 288];
const frame = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 7919) % 251);

/** Tiles of a busy frame: walkers and their context, of every shape, some overlapping. */
const tiles: Region[] = [
  { x: 10, y: 20, width: 52, height: 82 },
  { x: 40, y: 60, width: 60, height: 110 },
  { x: 200, y: 100, width: 90, height: 70 },
  { x: 300, y: 10, width: 40, height: 40 },
  { x: 120, y: 150, width: 130, height: 120 },
  { x: 0, y: 200, width: 256, height: 88 },
];

describe("sheets", () => {
  const sheets = packSheets(tiles, 256, 64);

  it("hold every tile once, inside the limit, none over another", () => {
    expect(sheets.flatMap((s) => s.placements.map((p) => p.tile)).sort()).toEqual(tiles.map((_, i) => i));
    for (const sheet of sheets) {
      expect(Math.max(sheet.width, sheet.height)).toBeLessThanOrEqual(256);
      const rects = sheet.placements.map(({ tile, x, y }) => ({ x, y, width: (tiles[tile] as Region).width, height: (tiles[tile] as Region).height }));
      for (const r of rects) expect(r.x + r.width <= sheet.width && r.y + r.height <= sheet.height).toBe(true);
      for (const [i, a] of rects.entries()) {
        for (const b of rects.slice(i + 1)) expect(a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height).toBe(false);
      }
    }
  });

  it("cost fewer padded pixels than a sheet per tile", () => {
    expect(sheets.length).toBeLessThan(tiles.length);
    expect(sheetPixels(sheets, 64)).toBeLessThan(sheetPixels(sheetPerTile(tiles), 64));
  });

  it("give each tile back its own pixels through a model that changes nothing", () => {
    const back = new Map(sheets.flatMap((sheet) => [...cutSheet(drawSheet(frame, width, tiles, sheet), tiles, sheet)]));
    for (const [i, tile] of tiles.entries()) expect(Buffer.from(back.get(i) as Uint8Array).equals(Buffer.from(crop(frame, width, tile)))).toBe(true);
  });
});
