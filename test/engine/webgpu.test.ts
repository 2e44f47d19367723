import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { lastValueFrom, take, toArray } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probe } from "../../src/ffmpeg/probe.js";
import type { Engine, EngineState } from "../../src/engine/engine.js";
import { MODELS_DIR, SHIPPED_MODELS, type ShippedModel } from "../../src/model/registry.js";
import { createOnnxEngine } from "../../src/engine/onnx-engine.js";
import { crop } from "../../src/engine/pixels.js";
import { fileSource } from "../../src/sources/file.js";
import { PEDESTRIANS, REPO, WORK, clip, decodeAll } from "../helpers/clips.js";

// The webgpu provider on whatever Vulkan adapter the machine has: in CI, Mesa 25's lavapipe
// (software Vulkan, .ci/run installs it), slow enough that the frames stay small.
const [W, H] = [96, 64];
const window = { x: 256, y: 192, width: W, height: H };
let frames: Uint8Array[] = [];

beforeAll(async () => {
  const decoded = await lastValueFrom(fileSource(PEDESTRIANS, await probe(PEDESTRIANS)).pipe(take(3), toArray()));
  frames = decoded.map((f) => crop(f.rgb, f.width, window));
});

/** The share of bytes within one level of the CPU provider's, and the largest difference. */
function agreement(cpu: Uint8Array, gpu: Uint8Array): { withinOne: number; max: number } {
  let [within, max] = [0, 0];
  for (let i = 0; i < cpu.length; i++) {
    const d = Math.abs((cpu[i] as number) - (gpu[i] as number));
    if (d <= 1) within++;
    max = Math.max(max, d);
  }
  return { withinOne: within / cpu.length, max };
}

/**
 * The target, at most one level off on at least 99% of the bytes, and no byte more than
 * one level off: smooth real frames this small met the first even in the provider's NHWC layout,
 * whose wrong convolutions put bytes up to 7 levels off.
 */
function expectParity(cpu: Uint8Array, gpu: Uint8Array): void {
  expect(gpu.length).toBe(cpu.length);
  const { withinOne, max } = agreement(cpu, gpu);
  expect(withinOne).toBeGreaterThanOrEqual(0.99);
  expect(max).toBeLessThanOrEqual(1);
}

/** Rows of streams, each carrying its own state frame to frame. */
async function runStreams(engine: Engine, clips: readonly (readonly Uint8Array[])[]): Promise<Uint8Array[][]> {
  const states: (EngineState | null)[] = clips.map(() => null);
  const outputs: Uint8Array[][] = clips.map(() => []);
  for (let t = 0; t < (clips[0]?.length ?? 0); t++) {
    const results = await engine.run(
      clips.map((frames, s) => ({ rgb: (frames[t] as Uint8Array).slice(), state: states[s] ?? null })),
      H,
      W,
    );
    results.forEach((result, s) => {
      states[s]?.dispose();
      states[s] = result.state;
      outputs[s]?.push(result.rgb);
    });
  }
  states.forEach((state) => state?.dispose());
  return outputs;
}

describe.each(Object.keys(SHIPPED_MODELS) as ShippedModel[])("the shipped %s model on webgpu", (model) => {
  const shipped = SHIPPED_MODELS[model];
  let engines: { cpu: Engine; gpu: Engine };
  beforeAll(async () => {
    const options = { model: join(MODELS_DIR, shipped.onnx), scales: shipped.scales, threads: 1 };
    engines = { cpu: await createOnnxEngine({ ...options, provider: "cpu" }), gpu: await createOnnxEngine({ ...options, provider: "webgpu" }) };
  }, 60_000);
  afterAll(async () => {
    await engines?.cpu.close();
    await engines?.gpu.close();
  });

  it("names its adapter", () => {
    expect(engines.gpu.name).toMatch(/^onnx \(webgpu: .+, Vulkan/);
  });

  it("matches the CPU provider over 3 frames with the state carried on the GPU", async () => {
    const [[cpu], [gpu]] = [await runStreams(engines.cpu, [frames]), await runStreams(engines.gpu, [frames])];
    frames.forEach((_, t) => expectParity(cpu?.[t] as Uint8Array, gpu?.[t] as Uint8Array));
  }, 120_000);
});

/**
 * Two streams through batches and alone: both in a batch, then each alone with the state the
 * batch left it, then both in a batch in the other order (states cut into rows and stacked again).
 */
async function runMixedBatches(engine: Engine): Promise<Uint8Array[][]> {
  const clips = [frames, [...frames].reverse()];
  const plan = [[0, 1], [0], [1], [1, 0]];
  const states: (EngineState | null)[] = [null, null];
  const outputs: Uint8Array[][] = [[], []];
  const next = [0, 0];
  for (const streams of plan) {
    const inputs = streams.map((s) => ({ rgb: (clips[s]?.[next[s] as number] as Uint8Array).slice(), state: states[s] ?? null }));
    const results = await engine.run(inputs, H, W);
    results.forEach((result, r) => {
      const s = streams[r] as number;
      states[s]?.dispose();
      states[s] = result.state;
      outputs[s]?.push(result.rgb);
      next[s] = (next[s] as number) + 1;
    });
  }
  states.forEach((state) => state?.dispose());
  return outputs;
}

describe("webgpu batches", () => {
  it("rows whose states live on the GPU go into batches and come out as the CPU provider's", async () => {
    const options = { model: join(MODELS_DIR, SHIPPED_MODELS.lite.onnx), scales: SHIPPED_MODELS.lite.scales, threads: 1 };
    const [cpu, gpu] = [await createOnnxEngine({ ...options, provider: "cpu" }), await createOnnxEngine({ ...options, provider: "webgpu" })];
    try {
      const [expected, got] = [await runMixedBatches(cpu), await runMixedBatches(gpu)];
      expect(got.map((stream) => stream.length)).toEqual([3, 3]);
      expected.forEach((stream, s) => stream.forEach((frame, t) => expectParity(frame, got[s]?.[t] as Uint8Array)));
    } finally {
      await cpu.close();
      await gpu.close();
    }
  }, 120_000);
});

describe("bin/dsanet --provider webgpu", () => {
  const dsanet = (args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(join(REPO, "bin/dsanet"), args, { cwd: REPO, encoding: "utf8", env });

  it("deblurs a clip end to end and names the adapter in its summary", () => {
    const input = clip("webgpu-in.mp4", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10:duration=0.3", "-c:v", "libx264", "-pix_fmt", "yuv420p");
    const output = join(WORK, "webgpu-out.mkv");
    const run = dsanet(["deblur", input, "-o", output, "--model", "lite", "--provider", "webgpu", "--lossless"]);
    expect(run.stderr).toMatch(/3 frames in [\d.]+ s: .*engine onnx \(webgpu: .+, Vulkan/);
    expect(run.status).toBe(0);
    expect(decodeAll(output, 96, 64)).toHaveLength(3);
  }, 120_000);

  it("without a Vulkan driver: one line that says what to install, exit 2, no CPU fallback", () => {
    const run = dsanet(["info", "--provider", "webgpu"], { ...process.env, VK_DRIVER_FILES: join(WORK, "no-such-icd.json") });
    expect(run.status).toBe(2);
    const errors = run.stderr.split("\n").filter((line) => line.includes("error"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/engine\.provider: webgpu: no WebGPU adapter \(no Vulkan driver \(ICD\) installed\).*apt install -t bookworm-backports mesa-vulkan-drivers libvulkan1/);
    expect(run.stdout).toBe("");
  }, 60_000);
});
