import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DeblurStream } from "../../src/model/deblur-stream.js";
import type { Engine } from "../../src/model/engine.js";
import { tileFor } from "../../src/model/memory.js";
import { createOnnxEngine } from "../../src/model/onnx-engine.js";
import type { Frame } from "../../src/types.js";
import { MODEL } from "../helpers/clips.js";

let engine: Engine;
beforeAll(async () => {
  engine = await createOnnxEngine({ model: MODEL, scales: 3, threads: 1, provider: "cpu" });
});
afterAll(() => engine.close());

describe("memory limit", () => {
  it("keeps frames whole while they fit, and picks the largest tile that fits when they do not", () => {
    expect(tileFor(640, 360, 32, 1200, 1000, null)).toBeNull();
    // 4000x3000 whole: ~14 GB. Under 2 GiB: 1312-pixel tiles (1312^2 x 1200 B = 2.07e9 B < 2^31).
    expect(tileFor(4000, 3000, 32, 1200, 2048, null)).toBe(1312);
    expect(tileFor(4000, 3000, 32, 1200, 2048, 512)).toBe(512); // the user's choice stands
    expect(() => tileFor(4000, 3000, 32, 1200, 1, null)).toThrow(/memoryLimitMB \(1\) is too small .* set --tile/);
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
      const out = await new DeblurStream(engine, { carryState: true, tile: null, overlap: 32, memoryLimitMB: 600 }).deblur(frame);
      expect(out.rgb).toHaveLength(rgb.length);
    } finally {
      clearInterval(sampler);
      spy.mockRestore();
    }
    expect(messages.join("")).toMatch(/1600x1200 frames need about \d+ MiB whole, over deblur\.memoryLimitMB \(600\): deblurring them in 704-pixel tiles \(--tile sets the size\)/);
    // Whole, this frame takes ~2.3 GB in the model; in tiles, well under the limit plus the frame's buffers.
    expect(peak - before).toBeLessThan(900 * 2 ** 20);
  });
});
