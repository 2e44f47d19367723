import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { lastValueFrom, take, toArray } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probe } from "../../src/ffmpeg/probe.js";
import type { Engine, EngineState } from "../../src/model/engine.js";
import { createEngine } from "../../src/model/create-engine.js";
import { createOnnxEngine } from "../../src/model/onnx-engine.js";
import { toFloat } from "../../src/model/pixels.js";
import { loadEngine, MODELS_DIR, SHIPPED_MODELS, type ShippedModel } from "../../src/model/load-engine.js";
import { createTfjsEngine } from "../../src/model/tfjs-engine.js";
import { fileSource } from "../../src/sources/file.js";
import { MODEL, PEDESTRIANS, REPO, WORK } from "../helpers/clips.js";

// A 128x96 window of three consecutive real frames (pedestrians), so the state is exercised.
const [W, H] = [128, 96];
const window = { x: 256, y: 192, width: W, height: H };
let frames: Float32Array[] = [];
let onnx: Engine;

beforeAll(async () => {
  const decoded = await lastValueFrom(fileSource(PEDESTRIANS, await probe(PEDESTRIANS)).pipe(take(3), toArray()));
  frames = decoded.map((f) => toFloat(f.rgb, f.width, window, H, W, "nchw"));
  onnx = await createOnnxEngine({ model: MODEL, scales: 3, threads: 1, provider: "cpu" });
});
afterAll(async () => {
  await onnx?.close();
});

function nchwToNhwc(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let c = 0; c < 3; c++) for (let p = 0; p < H * W; p++) out[p * 3 + c] = x[c * H * W + p] as number;
  return out;
}

function nhwcToNchw(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let c = 0; c < 3; c++) for (let p = 0; p < H * W; p++) out[c * H * W + p] = x[p * 3 + c] as number;
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

/** A copy in the engine's layout: an engine may take the input's buffer (the worker engine moves it). */
function input(engine: Engine, frame: Float32Array): Float32Array {
  return engine.layout === "nchw" ? frame.slice() : nchwToNhwc(frame);
}

function output(engine: Engine, image: Float32Array): Float32Array {
  return engine.layout === "nchw" ? image : nhwcToNchw(image);
}

async function runClip(engine: Engine, carry: boolean, clip = frames): Promise<Float32Array[]> {
  let state: EngineState | null = null;
  const out: Float32Array[] = [];
  for (const frame of clip) {
    const [result] = await engine.run([{ image: input(engine, frame), state }], H, W);
    if (!result) throw new Error("no output");
    state = carry ? result.state : null;
    out.push(output(engine, result.image));
  }
  return out;
}

/**
 * Two streams in one batch, frame by frame, each with its own carried state: the clip forwards
 * and backwards, the second joining a frame late (a row without a state beside one with).
 */
async function runBatched(engine: Engine): Promise<Float32Array[][]> {
  const clips = [frames, [...frames].reverse()];
  const outputs: Float32Array[][] = [[], []];
  const states: (EngineState | null)[] = [null, null];
  for (let t = 0; t < frames.length; t++) {
    const rows = t === 0 ? [0] : [0, 1];
    const inputs = rows.map((s) => ({ image: input(engine, clips[s]?.[t - s] as Float32Array), state: states[s] ?? null }));
    const results = await engine.run(inputs, H, W);
    results.forEach((result, r) => {
      const s = rows[r] as number;
      states[s] = result.state;
      outputs[s]?.push(output(engine, result.image));
    });
  }
  return outputs;
}

describe.each(Object.keys(SHIPPED_MODELS) as ShippedModel[])("the shipped %s model", (model) => {
  const shipped = SHIPPED_MODELS[model];
  let engines: { onnx: Engine; tfjs: Engine };
  beforeAll(async () => {
    engines = {
      onnx: await createOnnxEngine({ model: join(MODELS_DIR, shipped.onnx), scales: shipped.scales, threads: 1, provider: "cpu" }),
      tfjs: await createTfjsEngine({ model: join(MODELS_DIR, shipped.tfjs), scales: null, backend: "auto" }),
    };
  });
  afterAll(async () => {
    await engines?.onnx.close();
    await engines?.tfjs.close();
  });

  it("onnx and tfjs agree on real frames with the state carried (max abs diff < 1e-3)", async () => {
    expect(engines.tfjs.scales).toBe(shipped.scales);
    const [a, b] = [await runClip(engines.onnx, true), await runClip(engines.tfjs, true)];
    a.forEach((image, i) => expect(maxAbsDiff(image, b[i] as Float32Array)).toBeLessThan(1e-3));
  });

  it("its ONNX export matches PyTorch's reference model (max abs diff < 1e-4)", async () => {
    const input = join(WORK, `parity-input-${model}.f32`);
    const output = join(WORK, `parity-torch-${model}.f32`);
    const { writeFileSync } = await import("node:fs");
    writeFileSync(input, Buffer.concat(frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength))));
    const script = [
      "import sys, numpy as np, torch",
      "sys.path.insert(0, 'training')",
      "from common import load_model",
      `m = load_model('models/${shipped.export}.pt')`,
      `x = torch.from_numpy(np.fromfile('${input}', dtype='<f4').reshape(-1, 3, ${H}, ${W}))`,
      "state, out = None, []",
      "with torch.no_grad():",
      "    for f in x:",
      "        r, state = m(f[None], state)",
      "        out.append(r[-1].clamp(0, 1))",
      `torch.cat(out).numpy().astype('<f4').tofile('${output}')`,
    ].join("\n");
    execFileSync("/usr/bin/python3", ["-c", script], { cwd: REPO });
    const bytes = readFileSync(output);
    const torch = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const ours = await runClip(engines.onnx, true);
    ours.forEach((image, i) => expect(maxAbsDiff(image, torch.subarray(i * image.length, (i + 1) * image.length))).toBeLessThan(1e-4));
  });

  it.each(["onnx", "tfjs"] as const)("on %s, two streams in one batch get what each gets alone (max abs diff < 1e-5)", async (type) => {
    const engine = engines[type];
    const batched = await runBatched(engine);
    const alone = [await runClip(engine, true), await runClip(engine, true, [...frames].reverse().slice(0, -1))];
    expect(batched.map((clip) => clip.length)).toEqual([3, 2]);
    batched.forEach((clip, s) => clip.forEach((image, i) => expect(maxAbsDiff(image, alone[s]?.[i] as Float32Array)).toBeLessThan(1e-5)));
  });

});

describe("engines", () => {
  it("carrying the state changes later frames but not the first", async () => {
    const [carried, alone] = [await runClip(onnx, true), await runClip(onnx, false)];
    expect(maxAbsDiff(carried[0] as Float32Array, alone[0] as Float32Array)).toBe(0);
    expect(maxAbsDiff(carried[2] as Float32Array, alone[2] as Float32Array)).toBeGreaterThan(1e-4);
  });

  it("a discontinuity resets the carried state", async () => {
    const { DeblurStream } = await import("../../src/model/deblur-stream.js");
    const rgb = new Uint8Array(W * H * 3).map((_, i) => (i * 37) % 256);
    const frame = { stream: "s", index: 0, ptsMs: 0, width: W, height: H, rgb };
    const stream = new DeblurStream(onnx, { carryState: true, tile: null, overlap: 32, memoryLimitMB: null });
    const first = await stream.deblur(frame);
    const carried = await stream.deblur({ ...frame, index: 1 });
    const afterCut = await stream.deblur({ ...frame, index: 2, discontinuity: true });
    expect(Buffer.from(carried.rgb).equals(Buffer.from(first.rgb))).toBe(false);
    expect(Buffer.from(afterCut.rgb).equals(Buffer.from(first.rgb))).toBe(true);
    stream.close();
  });

  it("in its worker thread: the same output as in this one, and the event loop stays free meanwhile", async () => {
    const worker = await createEngine({ type: "onnx", model: MODEL, scales: 3, threads: 1, provider: "cpu", backend: "auto" });
    try {
      const [here, there] = [await runClip(onnx, true), await runClip(worker, true)];
      there.forEach((image, i) => expect(maxAbsDiff(image, here[i] as Float32Array)).toBe(0));
      const [hereBatched, thereBatched] = [await runBatched(onnx), await runBatched(worker)];
      thereBatched.flat().forEach((image, i) => expect(maxAbsDiff(image, hereBatched.flat()[i] as Float32Array)).toBe(0));
      // A 640x352 frame takes about half a second on one core; a 10 ms timer keeps ticking.
      let ticks = 0;
      const timer = setInterval(() => ticks++, 10);
      const started = performance.now();
      const [out] = await worker.run([{ image: new Float32Array(3 * 352 * 640).fill(0.5), state: null }], 352, 640);
      clearInterval(timer);
      out?.state.dispose();
      expect(ticks).toBeGreaterThan((performance.now() - started) / 10 / 4);
    } finally {
      await worker.close();
    }
    await expect(worker.run([{ image: new Float32Array(3 * H * W), state: null }], H, W)).rejects.toThrow(/engine is closed/);
  });

  it("says clearly when a GPU provider or a model file is missing", async () => {
    await expect(createOnnxEngine({ model: MODEL, scales: 3, threads: 1, provider: "cuda" })).rejects.toThrow(/onnx provider 'cuda' could not start/);
    await expect(loadEngine({ type: "onnx", model: "full", scales: 2, threads: 1, provider: "cpu", backend: "auto" })).rejects.toThrow(
      /engine\.model: \S+dsanet-k2\.onnx: no such model; export it with: python3 training\/export\.py --weights models\/dsanet\.pt --name dsanet --scales 2/,
    );
    // The same reasons reach the caller from the engine's worker thread.
    await expect(createEngine({ type: "onnx", model: MODEL, scales: 3, threads: 1, provider: "cuda", backend: "auto" })).rejects.toThrow(/onnx provider 'cuda' could not start/);
  });
});
