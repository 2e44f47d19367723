import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lastValueFrom, take, toArray } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeModel, OnnxType } from "../../src/convert/onnx-proto.js";
import { UserError } from "../../src/errors.js";
import { probe } from "../../src/ffmpeg/probe.js";
import type { Engine, EngineState } from "../../src/engine/engine.js";
import { loadEngineInWorker } from "../../src/engine/engine-in-worker.js";
import { createOnnxEngine } from "../../src/engine/onnx-engine.js";
import { crop } from "../../src/engine/pixels.js";
import { loadEngineOnThisThread } from "../../src/engine/load-engine.js";
import { MODELS_DIR, SHIPPED_MODELS, type ShippedModel } from "../../src/model/registry.js";
import { createTfjsEngine } from "../../src/engine/tfjs-engine.js";
import { fileSource } from "../../src/sources/file.js";
import { MODEL, PEDESTRIANS, REPO, WORK } from "../helpers/clips.js";

// A 128x96 window of three consecutive real frames (pedestrians), so the state is exercised.
const [W, H] = [128, 96];
const window = { x: 256, y: 192, width: W, height: H };
let frames: Uint8Array[] = [];
let onnx: Engine;

beforeAll(async () => {
  const decoded = await lastValueFrom(fileSource(PEDESTRIANS, await probe(PEDESTRIANS)).pipe(take(3), toArray()));
  frames = decoded.map((f) => crop(f.rgb, f.width, window));
  onnx = await createOnnxEngine({ model: MODEL, scales: 3, threads: 1, provider: "cpu" });
});
afterAll(async () => {
  await onnx?.close();
});

/** The largest difference between two images' bytes, and the share of bytes that differ. */
function compare(a: Uint8Array, b: Uint8Array): { max: number; differing: number } {
  let [max, count] = [0, 0];
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    max = Math.max(max, d);
    if (d > 0) count++;
  }
  return { max, differing: count / a.length };
}

/**
 * The same up to rounding: no byte off by more than one level, and few off at all (a float
 * error of 1e-3 would move a quarter of them across a rounding boundary).
 */
function expectSameBytes(a: Uint8Array, b: Uint8Array, share = 0.01): void {
  const { max, differing } = compare(a, b);
  expect(max).toBeLessThanOrEqual(1);
  expect(differing).toBeLessThan(share);
}

async function runClip(engine: Engine, carry: boolean, clip = frames): Promise<Uint8Array[]> {
  let state: EngineState | null = null;
  const out: Uint8Array[] = [];
  for (const frame of clip) {
    // A copy: an engine may take the input's buffer (the worker engine moves it to its thread).
    const [result] = await engine.run([{ rgb: frame.slice(), state }], H, W);
    if (!result) throw new Error("no output");
    state = carry ? result.state : null;
    out.push(result.rgb);
  }
  return out;
}

/**
 * Two streams in one batch, frame by frame, each with its own carried state: the clip forwards
 * and backwards, the second joining a frame late (a row without a state beside one with).
 */
async function runBatched(engine: Engine): Promise<Uint8Array[][]> {
  const clips = [frames, [...frames].reverse()];
  const outputs: Uint8Array[][] = [[], []];
  const states: (EngineState | null)[] = [null, null];
  for (let t = 0; t < frames.length; t++) {
    const rows = t === 0 ? [0] : [0, 1];
    const inputs = rows.map((s) => ({ rgb: (clips[s]?.[t - s] as Uint8Array).slice(), state: states[s] ?? null }));
    const results = await engine.run(inputs, H, W);
    results.forEach((result, r) => {
      const s = rows[r] as number;
      states[s] = result.state;
      outputs[s]?.push(result.rgb);
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
      tfjs: await createTfjsEngine({ model: join(MODELS_DIR, shipped.onnx), scales: null, backend: "auto" }),
    };
  });
  afterAll(async () => {
    await engines?.onnx.close();
    await engines?.tfjs.close();
  });

  it("onnx and tfjs agree on real frames with the state carried (to rounding)", async () => {
    expect(engines.tfjs.scales).toBe(shipped.scales);
    const [a, b] = [await runClip(engines.onnx, true), await runClip(engines.tfjs, true)];
    a.forEach((image, i) => expectSameBytes(image, b[i] as Uint8Array));
  });

  it("its ONNX export matches PyTorch's reference model (to rounding)", async () => {
    const input = join(WORK, `parity-input-${model}.f32`);
    const output = join(WORK, `parity-torch-${model}.f32`);
    const planes = frames.map((f) => Float32Array.from({ length: f.length }, (_, i) => (f[(i % (H * W)) * 3 + Math.floor(i / (H * W))] as number) / 255));
    writeFileSync(input, Buffer.concat(planes.map((f) => Buffer.from(f.buffer))));
    const script = [
      "import sys, numpy as np, torch",
      "sys.path.insert(0, 'training')",
      "from common import load_model",
      `m = load_model('models/${shipped.onnx}')`,
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
    const reference = (i: number) => Uint8Array.from({ length: H * W * 3 }, (_, j) => Math.round((torch[i * H * W * 3 + (j % 3) * H * W + Math.floor(j / 3)] as number) * 255));
    const ours = await runClip(engines.onnx, true);
    ours.forEach((image, i) => expectSameBytes(image, reference(i)));
  });

  it.each(["onnx", "tfjs"] as const)("on %s, two streams in one batch get what each gets alone (to rounding)", async (type) => {
    const engine = engines[type];
    const batched = await runBatched(engine);
    const alone = [await runClip(engine, true), await runClip(engine, true, [...frames].reverse().slice(0, -1))];
    expect(batched.map((clip) => clip.length)).toEqual([3, 2]);
    batched.forEach((clip, s) => clip.forEach((image, i) => expectSameBytes(image, alone[s]?.[i] as Uint8Array, 0.001)));
  });

});

describe("engines", () => {
  it("carrying the state changes later frames but not the first", async () => {
    const [carried, alone] = [await runClip(onnx, true), await runClip(onnx, false)];
    expect(compare(carried[0] as Uint8Array, alone[0] as Uint8Array).max).toBe(0);
    expect(compare(carried[2] as Uint8Array, alone[2] as Uint8Array).differing).toBeGreaterThan(0.01);
  });

  it("a discontinuity resets the carried state", async () => {
    const { DeblurStream } = await import("../../src/deblur/deblur-stream.js");
    const rgb = new Uint8Array(W * H * 3).map((_, i) => (i * 37) % 256);
    const frame = { stream: "s", index: 0, ptsMs: 0, width: W, height: H, rgb };
    const stream = new DeblurStream(onnx, { carryState: true, tile: null, overlap: 32, memoryLimitMB: null, regions: "off" });
    const first = (await stream.deblur(frame)).sharp;
    const carried = (await stream.deblur({ ...frame, index: 1 })).sharp;
    const afterCut = (await stream.deblur({ ...frame, index: 2, discontinuity: true })).sharp;
    expect(Buffer.from(carried.rgb).equals(Buffer.from(first.rgb))).toBe(false);
    expect(Buffer.from(afterCut.rgb).equals(Buffer.from(first.rgb))).toBe(true);
    stream.close();
  });

  it("in its worker thread: the same output as in this one, and the event loop stays free meanwhile", async () => {
    const worker = await loadEngineInWorker({ type: "onnx", model: MODEL, scales: 3, stages: null, precision: "fp32", threads: 1, provider: "cpu", backend: "auto" });
    try {
      const [here, there] = [await runClip(onnx, true), await runClip(worker, true)];
      there.forEach((image, i) => expect(image).toEqual(here[i]));
      const [hereBatched, thereBatched] = [await runBatched(onnx), await runBatched(worker)];
      expect(thereBatched).toEqual(hereBatched);
      // A 640x352 frame takes about half a second on one core; a 10 ms timer keeps ticking.
      let ticks = 0;
      const timer = setInterval(() => ticks++, 10);
      const started = performance.now();
      const [out] = await worker.run([{ rgb: new Uint8Array(3 * 352 * 640).fill(128), state: null }], 352, 640);
      clearInterval(timer);
      out?.state.dispose();
      expect(ticks).toBeGreaterThan((performance.now() - started) / 10 / 4);
    } finally {
      await worker.close();
    }
    await expect(worker.run([{ rgb: new Uint8Array(3 * H * W), state: null }], H, W)).rejects.toThrow(/engine is closed/);
  });

  it("a deadzone in the file (DSANetConfig.deadzone): onnx and tfjs agree, and more bytes come out as they went in", async () => {
    const zoned = join(WORK, "lite-deadzone.onnx");
    const script = [
      "import dataclasses, sys",
      "sys.path.insert(0, 'training')",
      "from pathlib import Path",
      "from common import load_model",
      "from dsanet import DSANet",
      "from export import export_onnx",
      "plain = load_model('models/dsanet-lite.onnx')",
      "zoned = DSANet(dataclasses.replace(plain.config, deadzone=1.0))",
      "zoned.load_state_dict(plain.state_dict())",
      `export_onnx(zoned.eval(), Path('${zoned}'))`,
    ].join("\n");
    execFileSync("/usr/bin/python3", ["-c", script], { cwd: REPO });
    const lite = SHIPPED_MODELS.lite;
    const engines = [
      await createOnnxEngine({ model: join(MODELS_DIR, lite.onnx), scales: lite.scales, threads: 1, provider: "cpu" }),
      await createOnnxEngine({ model: zoned, scales: lite.scales, threads: 1, provider: "cpu" }),
      await createTfjsEngine({ model: zoned, scales: null, backend: "auto" }),
    ];
    try {
      const [plain, onnxZoned, tfjsZoned] = await Promise.all(engines.map((engine) => runClip(engine, true)));
      onnxZoned?.forEach((image, i) => expectSameBytes(image, tfjsZoned?.[i] as Uint8Array));
      const unchanged = (out: Uint8Array[] | undefined) => (out ?? []).reduce((n, image, i) => n + image.filter((v, j) => v === frames[i]?.[j]).length, 0);
      expect(unchanged(onnxZoned)).toBeGreaterThan(unchanged(plain));
    } finally {
      await Promise.all(engines.map((engine) => engine.close()));
    }
  });

  it("says clearly when a GPU provider or a model file is missing", async () => {
    await expect(createOnnxEngine({ model: MODEL, scales: 3, threads: 1, provider: "cuda" })).rejects.toThrow(/engine\.provider: cuda could not start/);
    await expect(loadEngineOnThisThread({ type: "onnx", model: "full", scales: 2, stages: null, precision: "fp32", threads: 1, provider: "cpu", backend: "auto" })).rejects.toThrow(
      /engine\.model: \S+dsanet-k2\.onnx: no such model; export it with: python3 training\/export\.py --weights models\/dsanet\.onnx --name dsanet --scales 2/,
    );
    // The tfjs engine reads DSANet's config and weights from the ONNX file; a graph without them is refused by name.
    const bare = join(WORK, "bare.onnx");
    writeFileSync(bare, encodeModel({ name: "bare", nodes: [{ op: "Identity", inputs: ["x"], outputs: ["y"] }], initializers: [], inputs: [{ name: "x", type: OnnxType.float, dims: [1] }], outputs: [{ name: "y", type: OnnxType.float, dims: [1] }] }, 17, "test"));
    await expect(createTfjsEngine({ model: bare, scales: null, backend: "auto" })).rejects.toThrow(/bare\.onnx: no dsanet\.config in its metadata, so not a DSANet export the tfjs engine can rebuild; re-export it with training\/export\.py/);
    // The same reasons reach the caller from the engine's worker thread, still the user's to fix (one line, exit 2).
    const fromWorker = await loadEngineInWorker({ type: "onnx", model: MODEL, scales: 3, stages: null, precision: "fp32", threads: 1, provider: "cuda", backend: "auto" }).catch((error: unknown) => error);
    expect(fromWorker).toBeInstanceOf(UserError);
    expect((fromWorker as Error).message).toMatch(/engine\.provider: cuda could not start/);
  });
});
