/**
 * Several cameras, one inference? N streams' frames batched into one engine call (each
 * stream's ConvLSTM state in its row) against one call a frame, side by side in one run, for
 * each shipped model:
 *
 * - bare session: a bare onnxruntime session (bare-session.ts), N frames as one batch against
 *   N runs one after another: what batching can give at most;
 * - streams: N streams of real frames (OpenCV's pedestrians, a different start each), each
 *   deblurred in order with its state carried, as `dsanet serve` runs N cameras: the project's
 *   engine (its worker thread) behind a `batchingEngine` of N rows, against the engine alone
 *   (a frame a call, several queued in its worker: how `serve` runs on a CPU).
 *   Rounds alternate between the two, so the machine's drift weighs on both alike.
 *
 *   npm run bench:batch [-- --cameras 4 --rows 4 --size 640x360 --rounds 5 --frames 4]
 *
 * (--rows: the most frames one batched inference takes; default, one per camera.)
 *
 * On a CPU one 640x360 frame already keeps every core busy, so batching gains little there;
 * it is a GPU's way to fill itself (DeepStream's stream muxer, Triton's dynamic batcher).
 */
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config/load.js";
import { batchingEngine } from "../src/engine/batching-engine.js";
import { loadEngineInWorker } from "../src/engine/engine-in-worker.js";
import { DeblurStream } from "../src/deblur/deblur-stream.js";
import type { Engine, EngineInput } from "../src/engine/engine.js";
import type { ShippedModel } from "../src/model/registry.js";
import type { Frame } from "../src/types.js";
import { bareSession } from "./bare-session.js";

const { values } = parseArgs({
  options: {
    cameras: { type: "string", default: "4" },
    size: { type: "string", default: "640x360" },
    rounds: { type: "string", default: "5" },
    frames: { type: "string", default: "4" },
    models: { type: "string", default: "full,lite" },
    rows: { type: "string" },
  },
});
const cameras = Number(values.cameras);
const rounds = Number(values.rounds);
const [width, height] = values.size.split("x").map(Number) as [number, number];

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[values.length >> 1] as number;
}

/** The sample's frames scaled to width x height, as RGB24. */
function sampleFrames(): Uint8Array[] {
  const sample = join(fileURLToPath(new URL("../", import.meta.url)), "samples/pedestrians.mp4");
  const raw = execFileSync("ffmpeg", ["-v", "error", "-i", sample, "-vf", `scale=${width}:${height}`, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], { maxBuffer: 1 << 30 });
  const size = width * height * 3;
  return Array.from({ length: raw.length / size }, (_, i) => new Uint8Array(raw.subarray(i * size, (i + 1) * size)));
}

/** Frames/s of a bare session (bare-session.ts): `cameras` frames one run each, and as one batch. */
async function bare(model: ShippedModel): Promise<[number, number]> {
  const session = await bareSession(model, height, width);
  await session.run(1); // warm-up, both shapes
  await session.run(cameras);
  const [sequential, batched]: [number[], number[]] = [[], []];
  for (let round = 0; round < rounds; round++) {
    let started = performance.now();
    for (let i = 0; i < cameras; i++) await session.run(1);
    sequential.push(performance.now() - started);
    started = performance.now();
    await session.run(cameras);
    batched.push(performance.now() - started);
  }
  await session.release();
  return [(cameras * 1000) / median(sequential), (cameras * 1000) / median(batched)];
}

/** Frames/s of `cameras` streams deblurred at once through `engine`, `frames` frames each. */
async function streams(engine: Engine, rgb: readonly Uint8Array[], frames: number): Promise<number> {
  const started = performance.now();
  await Promise.all(
    Array.from({ length: cameras }, async (_, s) => {
      const stream = new DeblurStream(engine, { carryState: true, tile: null, overlap: 32, memoryLimitMB: null, regions: "off" });
      for (let i = 0; i < frames; i++) {
        const frame: Frame = { stream: `camera${s}`, index: i, ptsMs: 0, width, height, rgb: rgb[(s * 7 + i) % rgb.length] as Uint8Array };
        await stream.deblur(frame);
      }
      stream.close();
    }),
  );
  return (cameras * frames * 1000) / (performance.now() - started);
}

console.log(`Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? "unknown CPU"}), ${cameras} cameras at ${width}x${height}`);
console.log("| model | bare session: one at a time, frames/s | batched | ratio | streams: one at a time, frames/s | batched | ratio | rows per inference |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
const rgb = sampleFrames();
const config = await loadConfig(null);
for (const model of values.models.split(",") as ShippedModel[]) {
  const [bareOne, bareBatched] = await bare(model);
  const engine = await loadEngineInWorker({ ...config.engine, model });
  const rows: number[] = [];
  const counted: Engine = { ...engine, run: (inputs: readonly EngineInput[], h: number, w: number) => (rows.push(inputs.length), engine.run(inputs, h, w)) };
  const batched = batchingEngine(counted, { maxRows: Number(values.rows ?? cameras), waitMs: config.live.batchWaitMs });
  await streams(engine, rgb, 1); // warm-up, both shapes
  await streams(batched, rgb, 1);
  rows.length = 0;
  const [sequential, together]: [number[], number[]] = [[], []];
  // Lite runs about 10x faster: 10x the frames keep its timings as long as the full model's.
  const frames = Number(values.frames) * (model === "lite" ? 10 : 1);
  for (let round = 0; round < rounds; round++) {
    sequential.push(await streams(engine, rgb, frames));
    together.push(await streams(batched, rgb, frames));
  }
  await engine.close();
  const [one, all] = [median(sequential), median(together)];
  const meanRows = rows.reduce((a, b) => a + b, 0) / rows.length;
  console.log(
    `| ${model} | ${bareOne.toFixed(2)} | ${bareBatched.toFixed(2)} | ${(bareBatched / bareOne).toFixed(2)} | ${one.toFixed(2)} | ${all.toFixed(2)} | ${(all / one).toFixed(2)} | ${meanRows.toFixed(2)} |`,
  );
}
