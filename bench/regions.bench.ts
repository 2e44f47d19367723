/**
 * Motion-gated deblurring against whole frames, side by side in one run, on real footage of a
 * still camera whose walkers are motion-blurred (samples/pedestrians-motion-blur.mp4, made by
 * bench/motion-blur-sample.sh; frame i's sharp truth is frame i of samples/pedestrians.mp4).
 * For each model: the same frames through a whole-frame stream and a gated one (deblur.regions
 * auto), alternated frame by frame; seconds a frame, PSNR against the truth over the whole
 * frame and inside the areas the gated run deblurred, the share of pixels that went through the
 * model (its tiles) and the share of the areas themselves (what moved, with its margin), the
 * speed-up times the areas' share (1 where the tiles cost exactly what moved: issue 36 asks
 * >= 0.8), and the bytes outside the areas that differ from the input (must be 0).
 *
 *   npx tsx bench/regions.bench.ts [--models maxim,full,lite] [--frames 6] [--from 10] [--blurred FILE --sharp FILE]
 */
import { parseArgs } from "node:util";
import { lastValueFrom, toArray } from "rxjs";
import { loadConfig } from "../src/config/load.js";
import { probe } from "../src/ffmpeg/probe.js";
import { availableCores } from "../src/machine.js";
import { loadEngineInWorker } from "../src/engine/engine-in-worker.js";
import { DeblurStream } from "../src/deblur/deblur-stream.js";
import type { Region } from "../src/engine/pixels.js";
import { fileSource } from "../src/sources/file.js";
import type { Frame } from "../src/types.js";

const { values } = parseArgs({
  options: {
    models: { type: "string", default: "maxim,full,lite" },
    frames: { type: "string", default: "6" },
    from: { type: "string", default: "10" },
    blurred: { type: "string", default: "samples/pedestrians-motion-blur.mp4" },
    sharp: { type: "string", default: "samples/pedestrians.mp4" },
  },
});
const BLURRED = values.blurred ?? "";
const SHARP = values.sharp ?? "";
const count = Number(values.frames);
const from = Number(values.from);

const decode = async (path: string): Promise<Frame[]> => lastValueFrom(fileSource(path, await probe(path)).pipe(toArray()));
const [blurred, sharp] = [await decode(BLURRED), await decode(SHARP)];

/** PSNR in dB of `image` against `truth` over the pixels where `mask` is set (all when null). */
function psnr(image: Uint8Array, truth: Uint8Array, mask: Uint8Array | null): number {
  let [sum, n] = [0, 0];
  for (let p = 0; p < truth.length / 3; p++) {
    if (mask && !mask[p]) continue;
    for (let c = 0; c < 3; c++) sum += ((image[p * 3 + c] as number) - (truth[p * 3 + c] as number)) ** 2;
    n += 3;
  }
  return 10 * Math.log10((255 * 255 * n) / sum);
}

function maskOf(areas: readonly Region[], width: number, height: number): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (const a of areas) for (let y = a.y; y < a.y + a.height; y++) mask.fill(1, y * width + a.x, y * width + a.x + a.width);
  return mask;
}

/** Bytes of `out` that differ from `input` outside the mask. */
function changedOutside(out: Uint8Array, input: Uint8Array, mask: Uint8Array): number {
  let changed = 0;
  for (let i = 0; i < input.length; i++) if (!mask[Math.floor(i / 3)] && out[i] !== input[i]) changed++;
  return changed;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const config = await loadConfig(null);
const threads = availableCores();
console.log(`${BLURRED}: frames ${from}-${from + count - 1} of ${blurred.length}, ${blurred[0]?.width}x${blurred[0]?.height}, ${threads} threads`);
const rows: string[] = [];
for (const model of (values.models ?? "").split(",")) {
  const engine = await loadEngineInWorker({ ...config.engine, model, threads });
  const options = { carryState: false, tile: null, overlap: 32, memoryLimitMB: null } as const;
  const whole = new DeblurStream(engine, { ...options, regions: "off" });
  const gated = new DeblurStream(engine, { ...options, regions: "auto" });
  const at = (i: number) => blurred[i] as Frame;
  // Warm-up, not timed: each stream's first inference (conversions and sessions for MAXIM), the
  // gated stream's first frame, which it must see whole (there is nothing to compare it with),
  // and the timed frames once through a gated stream of their own, so that each region size's
  // conversion and session (MAXIM) is made before the clock runs.
  await whole.deblur(at(from - 1));
  const warmUp = new DeblurStream(engine, { ...options, regions: "auto" });
  for (let i = from - 1; i < from + count; i++) await warmUp.deblur(at(i));
  warmUp.close();
  await gated.deblur(at(from - 2));
  await gated.deblur(at(from - 1));
  const figures = { wholeSeconds: [] as number[], gatedSeconds: [] as number[], share: [] as number[], areaShare: [] as number[], changed: 0 };
  const dB = { blurred: [] as number[], whole: [] as number[], gated: [] as number[], blurredMoving: [] as number[], wholeMoving: [] as number[], gatedMoving: [] as number[] };
  for (let i = from; i < from + count; i++) {
    const input = at(i);
    const truth = (sharp[i] as Frame).rgb;
    let started = performance.now();
    const wholeOut = await whole.deblur(input);
    figures.wholeSeconds.push((performance.now() - started) / 1000);
    started = performance.now();
    const gatedOut = await gated.deblur(input);
    figures.gatedSeconds.push((performance.now() - started) / 1000);
    figures.share.push(gatedOut.deblurredShare);
    const mask = maskOf(gatedOut.areas ?? [{ x: 0, y: 0, width: input.width, height: input.height }], input.width, input.height);
    figures.areaShare.push(mask.reduce((sum, inside) => sum + inside, 0) / mask.length);
    figures.changed += changedOutside(gatedOut.sharp.rgb, input.rgb, mask);
    dB.blurred.push(psnr(input.rgb, truth, null));
    dB.whole.push(psnr(wholeOut.sharp.rgb, truth, null));
    dB.gated.push(psnr(gatedOut.sharp.rgb, truth, null));
    dB.blurredMoving.push(psnr(input.rgb, truth, mask));
    dB.wholeMoving.push(psnr(wholeOut.sharp.rgb, truth, mask));
    dB.gatedMoving.push(psnr(gatedOut.sharp.rgb, truth, mask));
    console.log(`${model} frame ${i}: whole ${figures.wholeSeconds.at(-1)?.toFixed(2)} s, gated ${figures.gatedSeconds.at(-1)?.toFixed(2)} s (${(100 * gatedOut.deblurredShare).toFixed(1)}% of the pixels, areas ${(100 * (figures.areaShare.at(-1) ?? 0)).toFixed(1)}%)`);
  }
  whole.close();
  gated.close();
  await engine.close();
  const f = (xs: readonly number[]) => mean(xs).toFixed(2);
  const speedUp = mean(figures.wholeSeconds) / mean(figures.gatedSeconds);
  rows.push(
    `| ${model}: ${engine.name} | ${f(figures.wholeSeconds)} | ${f(figures.gatedSeconds)} | **${speedUp.toFixed(1)}x** | ${(100 * mean(figures.share)).toFixed(1)}% | ${(100 * mean(figures.areaShare)).toFixed(1)}% | ${(speedUp * mean(figures.areaShare)).toFixed(2)} ` +
      `| ${f(dB.blurred)} / ${f(dB.whole)} / ${f(dB.gated)} | ${f(dB.blurredMoving)} / ${f(dB.wholeMoving)} / ${f(dB.gatedMoving)} | ${figures.changed} |`,
  );
}
console.log(
  [
    "",
    "| model: engine | whole s/frame | gated s/frame | speed-up | pixels through the model | areas | speed-up x areas | PSNR dB, whole frame: input / whole / gated | PSNR dB, moving areas: input / whole / gated | background bytes changed |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |",
    ...rows,
  ].join("\n"),
);
