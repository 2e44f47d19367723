import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DeblurStream } from "../../src/deblur/deblur-stream.js";
import type { Engine } from "../../src/engine/engine.js";
import { tileFor, type TilePlanning } from "../../src/deblur/memory.js";
import { createOnnxEngine } from "../../src/engine/onnx-engine.js";
import { planTiles, type TileSize } from "../../src/deblur/tiles.js";
import type { Frame } from "../../src/types.js";
import { MODEL } from "../helpers/clips.js";

let engine: Engine;
beforeAll(async () => {
  engine = await createOnnxEngine({ model: MODEL, scales: 3, threads: 1, provider: "cpu" });
});
afterAll(() => engine.close());

describe("memory limit", () => {
  const dsanet = (limitMB: number, requested: number | null = null): TilePlanning => ({ stride: 32, bytesPerPixel: 1200, limitMB, overlap: 32, requested });
  /** Pixels the engine runs for a frame in `tile`s: every tile, padded to the stride. */
  const pixelsRun = (width: number, height: number, tile: TileSize | null, stride: number) =>
    planTiles(width, height, tile, 32).reduce((sum, t) => sum + Math.ceil(t.width / stride) * stride * Math.ceil(t.height / stride) * stride, 0);

  it("keeps frames whole while they fit, and cuts the fewest pixels' worth of tiles that fit when they do not", () => {
    expect(tileFor(640, 360, dsanet(1000))).toBeNull();
    // 4000x3000 whole: ~14 GB. Under 2 GiB the largest square tile, 1312 (1312^2 x 1200 B =
    // 2.07e9 B < 2^31), takes 12 tiles; 8 of 1024x1536 each fit as well and run 39% fewer pixels.
    const tile = tileFor(4000, 3000, dsanet(2048));
    expect(tile).toEqual({ width: 1024, height: 1536 });
    expect(1024 * 1536 * 1200).toBeLessThanOrEqual(2048 * 2 ** 20);
    expect(pixelsRun(4000, 3000, tile, 32)).toBe(12_582_912);
    expect(pixelsRun(4000, 3000, { width: 1312, height: 1312 }, 32)).toBe(20_656_128);
    expect(tileFor(4000, 3000, dsanet(2048, 512))).toEqual({ width: 512, height: 512 }); // the user's choice stands
    expect(() => tileFor(4000, 3000, dsanet(1))).toThrow(/memoryLimitMB \(1\) is too small .* set --tile/);
  });

  it("runs 1280x720 MAXIM in two wide tiles where squares took four", () => {
    // MAXIM: stride 64, 24 KB a pixel; half of a 24 GiB machine. 1280x768 whole needs ~22 GiB.
    const tile = tileFor(1280, 720, { stride: 64, bytesPerPixel: 24_000, limitMB: 12_052, overlap: 32, requested: null });
    expect(tile).toEqual({ width: 1280, height: 384 });
    expect(planTiles(1280, 720, tile, 32)).toHaveLength(2);
    expect(pixelsRun(1280, 720, tile, 64)).toBe(983_040);
    expect(pixelsRun(1280, 720, { width: 704, height: 704 }, 64)).toBe(1_982_464);
  });

  // A 4000x3000 video grew past 10 GB on its first frame, with no message. A large frame under
  // a small limit shows the same at a size a test can afford.
  it("deblurs a frame too large for the limit in tiles, says so, and stays within it", async () => {
    const [width, height] = [1600, 1200];
    const rgb = new Uint8Array(width * height * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 2654435761) >>> 24;
    const frame: Frame = { stream: "big", index: 0, ptsMs: 0, width, height, rgb };
    const messages: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => (messages.push(String(chunk)), true));
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    try {
      const out = await new DeblurStream(engine, { carryState: true, tile: null, overlap: 32, memoryLimitMB: 600, regions: "off" }).deblur(frame);
      expect(out.sharp.rgb).toHaveLength(rgb.length);
    } finally {
      clearInterval(sampler);
      spy.mockRestore();
    }
    expect(messages.join("")).toMatch(/1600x1200 frames need about \d+ MiB whole, over deblur\.memoryLimitMB \(600\): deblurring them in 5 tiles of 352x1200 \(--tile N sets a square size\)/);
    // Whole, this frame takes ~2.3 GB in the model; in tiles, well under the limit plus the frame's buffers.
    expect(peak - before).toBeLessThan(900 * 2 ** 20);
  });
});
