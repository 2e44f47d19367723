/**
 * Throughput and memory of the batch pipeline, measured side by side in one run: a bare
 * onnxruntime session on the same model and threads against the project's engine (its worker
 * thread and pixel conversions), engine-only fps against end-to-end fps (file in, file out;
 * their ratio is what the pipeline costs on top of inference), DSANet against DSANet-Lite, onnx
 * against tfjs, per-frame against state-carried, and the peak memory of each, at 640x360 and
 * 1280x720 on the same real clip (OpenCV's pedestrians).
 *
 *   npm run bench [-- --frames 6 --tfjs-frames 2 --sizes 640x360,1280x720 --engines onnx,tfjs --models full,lite]
 *
 * (tfjs on wasm is single-threaded and an order of magnitude slower: fewer frames suffice.)
 *
 * Each configuration runs in Node processes of its own, so that its peak RSS is its own.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config/load.js";
import { loadEngineInWorker } from "../src/engine/engine-in-worker.js";
import { DeblurStream } from "../src/deblur/deblur-stream.js";
import type { ShippedModel } from "../src/model/registry.js";
import { deblurFile } from "../src/pipeline/deblur-file.js";
import { bareSession } from "./bare-session.js";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const WORK = join(tmpdir(), "dsanet-bench");

interface Case {
  model: ShippedModel;
  engine: "onnx" | "tfjs";
  width: number;
  height: number;
  carryState: boolean;
  frames: number;
}

interface Result extends Case {
  backend: string;
  /** A bare onnxruntime session (bare-session.ts), the same model, threads and size; null for tfjs. */
  bareFps: number | null;
  engineFps: number;
  endToEndFps: number;
  peakRssMiB: number;
}

/** The sample clip scaled to width x height, `frames` frames long. */
function clipAt(width: number, height: number, frames: number): string {
  mkdirSync(WORK, { recursive: true });
  const path = join(WORK, `pedestrians-${width}x${height}-${frames}.mp4`);
  execFileSync("ffmpeg", ["-v", "error", "-y", "-i", join(REPO, "samples/pedestrians.mp4"), "-frames:v", String(frames), "-vf", `scale=${width}:${height}`, "-c:v", "libx264", "-crf", "16", path]);
  return path;
}

/**
 * Engine-only and bare-session fps of one case, in this process (a child): the same frame
 * again and again, conversions included, no decode or encode. Each engine frame alternates
 * with a bare run, so that the machine's drift (10-20% within minutes on these VMs) weighs on
 * both alike and their ratio stays the engine's own cost.
 */
async function measureEngine(c: Case): Promise<Pick<Result, "backend" | "bareFps" | "engineFps">> {
  const config = await loadConfig(null);
  const engine = await loadEngineInWorker({ ...config.engine, type: c.engine, model: c.model });
  const bare = c.engine === "onnx" ? await bareSession(c.model, c.height, c.width, config.engine.threads) : null;
  const frame = { stream: "bench", index: 0, ptsMs: 0, width: c.width, height: c.height, rgb: new Uint8Array(c.width * c.height * 3).fill(128) };
  const stream = new DeblurStream(engine, { carryState: c.carryState, tile: null, overlap: 32, memoryLimitMB: null, regions: "off" });
  await stream.deblur(frame); // warm-up: session initialisation and first-run allocations
  await bare?.run();
  let engineMs = 0;
  let bareMs = 0;
  for (let i = 0; i < c.frames; i++) {
    const started = performance.now();
    await stream.deblur({ ...frame, index: i });
    const between = performance.now();
    await bare?.run();
    engineMs += between - started;
    bareMs += performance.now() - between;
  }
  stream.close();
  await bare?.release();
  await engine.close();
  return { backend: engine.name, bareFps: bare ? (c.frames * 1000) / bareMs : null, engineFps: (c.frames * 1000) / engineMs };
}

/**
 * End-to-end fps and peak memory of one case, in a process of its own (a child), so that the
 * peak is the pipeline's alone. Timed from the first frame written to the last, as engine-only
 * starts after its warm-up: neither counts the start (probe, spawning ffmpeg, the session's
 * first run), which over 6 frames of DSANet weighed 10% and in a long video weighs nothing.
 */
async function measureEndToEnd(c: Case): Promise<Pick<Result, "endToEndFps" | "peakRssMiB">> {
  const config = await loadConfig(null);
  const engine = await loadEngineInWorker({ ...config.engine, type: c.engine, model: c.model });
  const written: number[] = [];
  await deblurFile({
    input: clipAt(c.width, c.height, c.frames), output: join(WORK, `out-${c.model}-${c.engine}-${c.width}.mp4`), engine,
    carryState: c.carryState, tile: null, overlap: 32, memoryLimitMB: null, regions: "off", slots: 4,
    encode: { ...config.output, preset: "veryfast" },
    onProgress: () => written.push(performance.now()),
  });
  await engine.close();
  const [first = 0, last = 0] = [written[0], written.at(-1)];
  return { endToEndFps: ((written.length - 1) * 1000) / (last - first), peakRssMiB: process.resourceUsage().maxRSS / 1024 };
}

const PARTS = { engine: measureEngine, endToEnd: measureEndToEnd };

function runChild(part: keyof typeof PARTS, c: Case): object {
  const child = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--one", JSON.stringify({ part, case: c })], {
    cwd: REPO,
    encoding: "utf8",
    env: { ...process.env, DSANET_LOG: "warn" },
  });
  if (child.status !== 0) throw new Error(`bench ${part} of ${JSON.stringify(c)} failed:\n${child.stderr}`);
  return JSON.parse(child.stdout.trim().split("\n").pop() ?? "{}") as object;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      one: { type: "string" },
      frames: { type: "string", default: "6" },
      "tfjs-frames": { type: "string", default: "2" },
      sizes: { type: "string", default: "640x360,1280x720" },
      engines: { type: "string", default: "onnx,tfjs" },
      models: { type: "string", default: "full,lite" },
    },
  });
  if (values.one) {
    const { part, case: c } = JSON.parse(values.one) as { part: keyof typeof PARTS; case: Case };
    process.stdout.write(JSON.stringify(await PARTS[part](c)) + "\n");
    return;
  }
  const results: Result[] = [];
  for (const model of values.models.split(",") as ShippedModel[]) {
    for (const size of values.sizes.split(",")) {
      const [width, height] = size.split("x").map(Number) as [number, number];
      for (const engine of values.engines.split(",") as Case["engine"][]) {
        for (const carryState of [false, true]) {
          // Lite runs 10x faster: 10x the frames keep its timings as long as the full model's.
          const frames = Number(engine === "tfjs" ? values["tfjs-frames"] : values.frames) * (model === "lite" ? 10 : 1);
          const c: Case = { model, engine, width, height, carryState, frames };
          const result = { ...c, ...runChild("engine", c), ...runChild("endToEnd", c) } as Result;
          results.push(result);
          process.stderr.write(`done: ${model} ${result.backend} ${size} ${carryState ? "state carried" : "per frame"}\n`);
        }
      }
    }
  }
  console.log(`\nNode ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? "unknown CPU"})`);
  console.log("| model | size | engine | state | frames | bare session fps | engine-only fps | engine / bare | end-to-end fps | end-to-end / engine | peak RSS MiB |");
  console.log("| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of results) {
    const bare = r.bareFps === null ? ["-", "-"] : [r.bareFps.toFixed(3), (r.engineFps / r.bareFps).toFixed(2)];
    console.log(
      `| ${r.model} | ${r.width}x${r.height} | ${r.backend} | ${r.carryState ? "carried" : "per frame"} | ${r.frames} | ${bare[0]} | ${r.engineFps.toFixed(3)} | ${bare[1]} | ${r.endToEndFps.toFixed(3)} | ${(r.endToEndFps / r.engineFps).toFixed(2)} | ${r.peakRssMiB.toFixed(0)} |`,
    );
  }
}

await main();
