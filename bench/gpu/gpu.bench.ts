/**
 * DSANet and DSANet-Lite through the webgpu provider against the CPU provider on the same machine,
 * per frame size, in frames/s:
 *
 * - engine, 1 camera: the onnx engine in this thread, one frame a call, the state carried (on the
 *   GPU for webgpu): what the model gives;
 * - engine, 4 cameras: four streams' frames as one batch a call, each row's state carried;
 * - pipeline, 1 camera / 4 cameras: as `dsanet serve` runs cameras: the engine in its worker
 *   thread, a DeblurStream per camera (frames moved to the worker and back, states kept there),
 *   for 4 cameras behind a batchingEngine of 4 rows. Decoding and encoding are left out: ffmpeg
 *   runs on the CPU alike for both providers, and a loan's machine may have none.
 *
 * Each row is appended to --out as soon as it is measured, so a run cut short keeps what it
 * measured; --budget-s stops starting new rows past that many seconds.
 *
 *   node dist/bench/gpu/gpu.bench.js [--sizes 640x360,1280x720,1920x1080] [--models full,lite]
 *     [--providers webgpu,cpu] [--frames 10] [--cpu-frames 3] [--budget-s 420] [--out table.md]
 *
 * bench/gpu/run.sh builds, packs and runs it on a lent GPU machine (README, "GPU").
 */
import { appendFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { batchingEngine } from "../../src/engine/batching-engine.js";
import { loadEngineInWorker } from "../../src/engine/engine-in-worker.js";
import { DeblurStream } from "../../src/deblur/deblur-stream.js";
import type { Engine, EngineState } from "../../src/engine/engine.js";
import { MODELS_DIR, SHIPPED_MODELS, type ShippedModel } from "../../src/model/registry.js";
import { createOnnxEngine, type OnnxProvider } from "../../src/engine/onnx-engine.js";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "640x360,1280x720,1920x1080" },
    models: { type: "string", default: "full,lite" },
    providers: { type: "string", default: "webgpu,cpu" },
    frames: { type: "string", default: "10" },
    "cpu-frames": { type: "string", default: "3" },
    "budget-s": { type: "string", default: "420" },
    out: { type: "string", default: "gpu-bench.md" },
  },
});
const CAMERAS = 4;
const started = performance.now();
const budgetMs = Number(values["budget-s"]) * 1000;

/** A moving test picture: every frame differs, so the carried state does work. */
function picture(width: number, height: number, t: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      rgb[i] = (x * 3 + t * 7) & 255;
      rgb[i + 1] = (y * 5 + ((x >> 4) ^ (y >> 4)) * 40) & 255;
      rgb[i + 2] = ((x + y) * 2 - t * 11) & 255;
    }
  }
  return rgb;
}

/** Frames/s of `frames` calls of `rows` streams each, after one call of warm-up (shader compiles). */
async function engineFps(engine: Engine, rows: number, width: number, height: number, frames: number): Promise<number> {
  const states: (EngineState | null)[] = Array.from({ length: rows }, () => null);
  const step = async (t: number) => {
    const outputs = await engine.run(
      states.map((state, s) => ({ rgb: picture(width, height, t + s), state })),
      height,
      width,
    );
    outputs.forEach((out, s) => {
      states[s]?.dispose();
      states[s] = out.state;
    });
  };
  await step(0);
  const begun = performance.now();
  for (let t = 1; t <= frames; t++) await step(t);
  const fps = (rows * frames * 1000) / (performance.now() - begun);
  states.forEach((state) => state?.dispose());
  return fps;
}

/** Frames/s of `cameras` DeblurStreams at once through `engine`, after one frame each of warm-up. */
async function pipelineFps(engine: Engine, cameras: number, width: number, height: number, frames: number): Promise<number> {
  const streams = Array.from({ length: cameras }, () => new DeblurStream(engine, { carryState: true, tile: null, overlap: 32, memoryLimitMB: null, regions: "off" }));
  const deblur = (s: number, index: number) =>
    (streams[s] as DeblurStream).deblur({ stream: `camera${s}`, index, ptsMs: index * 40, width, height, rgb: picture(width, height, index + s) });
  await Promise.all(streams.map((_, s) => deblur(s, 0)));
  const begun = performance.now();
  await Promise.all(
    streams.map(async (_, s) => {
      for (let i = 1; i <= frames; i++) await deblur(s, i);
    }),
  );
  const fps = (cameras * frames * 1000) / (performance.now() - begun);
  streams.forEach((stream) => stream.close());
  return fps;
}

const COLUMNS = ["model", "size", "provider", "engine, 1 camera", "engine, 4 cameras batched", "pipeline, 1 camera", "pipeline, 4 cameras batched"];
const row = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
const header = [
  `Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? "unknown CPU"}); frames/s, state carried; ${new Date().toISOString()}`,
  "",
  row(COLUMNS),
  row(COLUMNS.map((_, i) => (i < 3 ? "---" : "---:"))),
  "",
].join("\n");
writeFileSync(values.out, header);
process.stdout.write(header);
const record = (cells: readonly string[]) => {
  appendFileSync(values.out, `${row(cells)}\n`);
  console.log(row(cells));
};

const sizes = values.sizes.split(",").map((size) => size.split("x").map(Number) as [number, number]);
for (const model of values.models.split(",") as ShippedModel[]) {
  const shipped = SHIPPED_MODELS[model];
  for (const [width, height] of sizes) {
    for (const provider of values.providers.split(",") as OnnxProvider[]) {
      const cells = [model, `${width}x${height}`, provider];
      if (performance.now() - started > budgetMs) {
        record([...cells, "not run: over --budget-s", "", "", ""]);
        continue;
      }
      // Lite runs several times faster: more frames keep its timings as long.
      const frames = Number(provider === "cpu" ? values["cpu-frames"] : values.frames) * (model === "lite" ? 3 : 1);
      const options = { type: "onnx" as const, model, scales: null, stages: null, precision: "fp32" as const, threads: 0, provider, backend: "auto" as const };
      try {
        const engine = await createOnnxEngine({ model: `${MODELS_DIR}${shipped.onnx}`, scales: shipped.scales, threads: 0, provider });
        cells[2] = engine.name;
        const alone = await engineFps(engine, 1, width, height, frames);
        const batched = await engineFps(engine, CAMERAS, width, height, frames);
        await engine.close();
        const worker = await loadEngineInWorker(options);
        const pipelineAlone = await pipelineFps(worker, 1, width, height, frames);
        const batching = batchingEngine(worker, { maxRows: CAMERAS, waitMs: 20 });
        const pipelineBatched = await pipelineFps(batching, CAMERAS, width, height, frames);
        await batching.close();
        record([...cells, ...[alone, batched, pipelineAlone, pipelineBatched].map((fps) => fps.toFixed(2))]);
      } catch (error) {
        record([...cells, `failed: ${(error as Error).message.split("\n")[0]}`, "", "", ""]);
      }
    }
  }
}
console.log(`${((performance.now() - started) / 1000).toFixed(0)} s in all; table in ${values.out}`);
// A worker left by a failed row must not keep a loan's command running to its limit.
process.exit(0);
