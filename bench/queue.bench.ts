/**
 * The job queue on this machine, side by side in one run: one long real clip through one and
 * two workers (the same cores in total: 2 threads for one worker, 1 each for two), and the
 * warm-up W against the PSNR of each chunk's first frame (the seam) to a sequential run.
 *
 *   npm run bench:queue [-- --size 320x180 --chunk-seconds 3.5]
 *
 * The clip is imageio's cockatoo.mp4 (14 s, 280 frames), scaled. Outputs are bit-exact
 * (lossless), so the differences are the model's alone.
 */
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { planChunks } from "../src/queue/plan.js";
import { RedisServer } from "../test/helpers/redis.js";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const DSANET = join(REPO, "bin/dsanet");
const WORK = join(tmpdir(), "dsanet-bench-queue");
const COCKATOO = "/usr/lib/python3/dist-packages/imageio/resources/images/cockatoo.mp4";

const { values } = parseArgs({ options: { size: { type: "string", default: "320x180" }, "chunk-seconds": { type: "string", default: "3.5" } } });
const [width, height] = (values.size ?? "320x180").split("x").map(Number) as [number, number];
mkdirSync(WORK, { recursive: true });
const input = join(WORK, `cockatoo-${width}x${height}.mp4`);
spawnSync("ffmpeg", ["-v", "error", "-y", "-i", COCKATOO, "-vf", `scale=${width}:${height}`, "-c:v", "libx264", "-crf", "16", "-c:a", "copy", input]);

function config(threads: number, warmup: number): string {
  const path = join(WORK, `t${threads}-w${warmup}.yaml`);
  writeFileSync(path, `engine: {threads: ${threads}}\noutput: {lossless: true}\nqueue: {chunkSeconds: ${values["chunk-seconds"]}, warmupFrames: ${warmup}}\n`);
  return path;
}

function frames(path: string): Buffer[] {
  const raw = spawnSync("ffmpeg", ["-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], { maxBuffer: 2 ** 30 }).stdout;
  const size = width * height * 3;
  return Array.from({ length: raw.length / size }, (_, i) => raw.subarray(i * size, (i + 1) * size));
}

function psnr(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += ((a[i] as number) - (b[i] as number)) ** 2;
  const mse = sum / a.length / 255 ** 2;
  return mse === 0 ? 99 : -10 * Math.log10(mse);
}

const redis = await RedisServer.start();
try {
  const started = performance.now();
  const reference = join(WORK, "sequential.mp4");
  spawnSync(DSANET, ["deblur", input, "-o", reference, "--config", config(2, 0), "-q"]);
  const sequentialSeconds = (performance.now() - started) / 1000;
  const truth = frames(reference);

  const run = async (workers: number, warmup: number) => {
    const outDir = join(WORK, `out-${workers}-${warmup}`);
    rmSync(outDir, { recursive: true, force: true });
    const cfg = config(2 / workers, warmup);
    const pool = Array.from({ length: workers }, () => spawn(DSANET, ["worker", "--config", cfg, "--redis", redis.url], { stdio: "ignore" }));
    await new Promise((resolve) => setTimeout(resolve, 3000)); // the workers load the model
    const t = performance.now();
    const submit = spawn(DSANET, ["submit", input, "--out-dir", outDir, "--redis", redis.url, "--config", cfg, "--wait"], { stdio: "ignore" });
    await once(submit, "exit");
    const seconds = (performance.now() - t) / 1000;
    for (const worker of pool) worker.kill("SIGTERM");
    await Promise.all(pool.map((worker) => once(worker, "exit")));
    const joined = frames(join(outDir, `cockatoo-${width}x${height}-deblurred.mp4`));
    const scores = joined.map((frame, i) => psnr(frame, truth[i] as Buffer));
    // cockatoo runs at 20 fps; the seams are where submit cut it.
    const seams = planChunks(truth.length, 20, Number(values["chunk-seconds"])).slice(1).map((c) => scores[c.first] as number);
    return { workers, warmup, seconds, frames: joined.length, seamMin: Math.min(...seams), allMin: Math.min(...scores) };
  };

  const rows = [await run(1, 8), await run(2, 8), await run(2, 0), await run(2, 4), await run(2, 16)];
  console.log(`cockatoo ${width}x${height}, ${truth.length} frames; one sequential run (dsanet deblur, 2 threads): ${sequentialSeconds.toFixed(1)} s`);
  console.log("| workers (threads each) | warm-up W | seconds | frames | seam PSNR min (dB) | any frame min (dB) |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const r of rows) {
    console.log(`| ${r.workers} (${2 / r.workers}) | ${r.warmup} | ${r.seconds.toFixed(1)} | ${r.frames} | ${r.seamMin.toFixed(1)} | ${r.allMin.toFixed(1)} |`);
  }
} finally {
  await redis.stop();
}
