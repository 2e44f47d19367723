import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchingEngine } from "../../src/engine/batching-engine.js";
import type { Engine, EngineInput, EngineState } from "../../src/engine/engine.js";
import { MODELS_DIR, SHIPPED_MODELS } from "../../src/model/registry.js";
import { createOnnxEngine } from "../../src/engine/onnx-engine.js";
import { join } from "node:path";

const [H, W] = [64, 96];
/** A different smooth image per stream and frame. */
const image = (stream: number, frame: number, height = H, width = W) =>
  Uint8Array.from({ length: 3 * height * width }, (_, i) => 128 + 100 * Math.sin(i * (0.01 + 0.003 * stream) + frame));

let engine: Engine;
/** The real engine, with the size of every batch it is given. */
let counted: Engine;
let batches: number[] = [];

beforeAll(async () => {
  engine = await createOnnxEngine({ model: join(MODELS_DIR, SHIPPED_MODELS.lite.onnx), scales: SHIPPED_MODELS.lite.scales, threads: 1, provider: "cpu" });
  counted = {
    ...engine,
    run: (inputs: readonly EngineInput[], height: number, width: number) => {
      batches.push(inputs.length);
      return engine.run(inputs, height, width);
    },
    close: async () => undefined,
  };
});
afterAll(async () => {
  await engine?.close();
});

function maxAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

/** `frames` frames of stream `s` through `through`, one after another, its state carried. */
async function stream(through: Engine, s: number, frames: number): Promise<Uint8Array[]> {
  let state: EngineState | null = null;
  const out: Uint8Array[] = [];
  for (let t = 0; t < frames; t++) {
    const [result] = await through.run([{ rgb: image(s, t), state }], H, W);
    if (!result) throw new Error("no output");
    state = result.state;
    out.push(result.rgb);
  }
  return out;
}

describe("the batching engine", () => {
  it("runs four streams' frames as batches of four, each stream getting what it gets alone", async () => {
    batches = [];
    const batching = batchingEngine(counted, { maxRows: 4, waitMs: 1000 });
    const together = await Promise.all([0, 1, 2, 3].map((s) => stream(batching, s, 3)));
    expect(batches).toEqual([4, 4, 4]);
    const alone = await Promise.all([0, 1, 2, 3].map((s) => stream(engine, s, 3)));
    together.forEach((frames, s) => frames.forEach((out, t) => expect(maxAbsDiff(out, alone[s]?.[t] as Uint8Array)).toBeLessThanOrEqual(1)));
    await batching.close();
  });

  it("sends a batch that is not full once its first call has waited waitMs, and never mixes sizes", async () => {
    batches = [];
    const batching = batchingEngine(counted, { maxRows: 4, waitMs: 50 });
    const started = performance.now();
    const small = [0, 1].map((s) => batching.run([{ rgb: image(s, 0), state: null }], H, W));
    const large = batching.run([{ rgb: image(2, 0, 2 * H, W), state: null }], 2 * H, W);
    const [a, b, c] = await Promise.all([...small, large]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(batches).toEqual([2, 1]);
    expect([a?.[0]?.rgb.length, b?.[0]?.rgb.length, c?.[0]?.rgb.length]).toEqual([3 * H * W, 3 * H * W, 3 * 2 * H * W]);
    await batching.close();
  });

  it("on close, runs the calls still waiting, then refuses new ones", async () => {
    batches = [];
    const batching = batchingEngine(counted, { maxRows: 4, waitMs: 60_000 });
    const waiting = batching.run([{ rgb: image(0, 0), state: null }], H, W);
    await batching.close();
    expect((await waiting)[0]?.rgb).toHaveLength(3 * H * W);
    expect(batches).toEqual([1]);
    await expect(batching.run([{ rgb: image(0, 1), state: null }], H, W)).rejects.toThrow(/engine is closed/);
  });

  it("passes an engine's error to every call of the batch", async () => {
    const batching = batchingEngine(counted, { maxRows: 2, waitMs: 1000 });
    // One frame shorter than the size the call states: the engine refuses the batch.
    const calls = [0, 1].map((s) => batching.run([{ rgb: image(s, 0, s === 0 ? H : H - 1, W), state: null }], H, W));
    for (const call of calls) await expect(call).rejects.toThrow(/frame 1 of the batch has 18144 bytes, where 96x64 RGB24 has 18432/);
    await batching.close();
  });
});
