import { lastValueFrom, take } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probe } from "../../src/ffmpeg/probe.js";
import { DeblurStream } from "../../src/deblur/deblur-stream.js";
import type { Engine } from "../../src/engine/engine.js";
import { createOnnxEngine } from "../../src/engine/onnx-engine.js";
import { planTiles } from "../../src/deblur/tiles.js";
import { fileSource } from "../../src/sources/file.js";
import type { Frame } from "../../src/types.js";
import { MODEL, PEDESTRIANS } from "../helpers/clips.js";

let engine: Engine;
beforeAll(async () => {
  engine = await createOnnxEngine({ model: MODEL, scales: 3, threads: 1, provider: "cpu" });
});
afterAll(() => engine.close());

/** Mean absolute difference between two RGB images over the pixels of column x. */
function columnError(a: Uint8Array, b: Uint8Array, width: number, height: number, x: number): number {
  let sum = 0;
  for (let y = 0; y < height; y++) for (let c = 0; c < 3; c++) sum += Math.abs((a[(y * width + x) * 3 + c] as number) - (b[(y * width + x) * 3 + c] as number));
  return sum / (3 * height);
}

describe("tiles", () => {
  it("cover the frame, overlap by at least the asked amount, and weigh to 1 in the interior", () => {
    const tiles = planTiles(640, 480, { width: 256, height: 256 }, 32);
    const xs = [...new Set(tiles.map((t) => t.x))];
    expect(xs[0]).toBe(0);
    expect((xs.at(-1) as number) + 256).toBe(640);
    xs.slice(1).forEach((x, i) => expect((xs[i] as number) + 256 - x).toBeGreaterThanOrEqual(32));
    expect(tiles[0]?.weight(128, 128)).toBe(1);
    expect(planTiles(100, 60, null, 32)).toHaveLength(1);
    // Not square: full-width rows.
    const rows = planTiles(1280, 720, { width: 1280, height: 384 }, 32);
    expect(rows.map((t) => [t.x, t.y, t.width, t.height])).toEqual([[0, 0, 1280, 384], [0, 336, 1280, 384]]);
  });

  it("deblur a real frame in tiles without seams", async () => {
    const frame: Frame = await lastValueFrom(fileSource(PEDESTRIANS, await probe(PEDESTRIANS)).pipe(take(1)));
    const crop = { ...frame, width: 320, height: 160, rgb: new Uint8Array(320 * 160 * 3) };
    for (let y = 0; y < 160; y++) crop.rgb.set(frame.rgb.subarray((y + 200) * 640 * 3, (y + 200) * 640 * 3 + 320 * 3), y * 320 * 3);

    const whole = (await new DeblurStream(engine, { carryState: false, tile: null, overlap: 32, memoryLimitMB: null, regions: "off" }).deblur(crop)).sharp;
    const tiled = (await new DeblurStream(engine, { carryState: false, tile: 128, overlap: 32, memoryLimitMB: null, regions: "off" }).deblur(crop)).sharp;
    const errors = Array.from({ length: 320 }, (_, x) => columnError(whole.rgb, tiled.rgb, 320, 160, x));
    const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
    // Tiles see less context than the whole frame, so they differ a little everywhere; a seam
    // would be a column that differs far more than the rest.
    expect(mean).toBeLessThan(3);
    expect(Math.max(...errors)).toBeLessThan(4 * mean + 2);
  });

  it("reject a tile size the network cannot take", () => {
    expect(() => new DeblurStream(engine, { carryState: true, tile: 100, overlap: 32, memoryLimitMB: null, regions: "off" })).toThrow(/deblur\.tile: 100 is not a multiple of the model's stride, 32: use 96 or 128 \(--tile\)/);
  });
});
