/**
 * DSANet in int8 against fp32 (`--precision int8`, models/dsanet-int8.onnx, made by
 * `training/int8/run.sh --ship`), side by side in one run: bare sessions with the engine's
 * options on frames of the bundled sample, alternated round by round after a warm-up, the state
 * carried as a camera carries it; the median and fastest of the rounds, and how far int8's
 * output lies from fp32's (PSNR over the frames). Says which CPU, and whether it has the
 * integer units (VNNI, AMX, AVX2) that int8 needs to pay.
 *
 *   npx tsx bench/int8.bench.ts [ROUNDS]     (default 20 rounds of the sample's 640x480 frames)
 *
 * Run it under the heavy-job lock (flock /tmp/heavy.lock): it keeps both cores busy.
 */
import { lastValueFrom, take, toArray } from "rxjs";
import ort from "onnxruntime-node";
import { probe } from "../src/ffmpeg/probe.js";
import { fileSource } from "../src/sources/file.js";
import { sessionOptions, stateChannelsOf } from "../src/engine/onnx-engine.js";
import { padded, strideFor } from "../src/engine/engine.js";
import { availableCores } from "../src/machine.js";
import { MODELS_DIR, SHIPPED_MODELS } from "../src/model/registry.js";
import { describeCpu } from "./cpu.js";

const rounds = Number(process.argv[2] ?? 20);
const threads = availableCores();
const SAMPLE = "samples/pedestrians-motion-blur.mp4";
const info = await probe(SAMPLE);
const { width, height } = info;
const frames = (await lastValueFrom(fileSource(SAMPLE, info).pipe(take(rounds + 1), toArray()))).map((f) => f.rgb);
const { full } = SHIPPED_MODELS;
const stride = strideFor(full.scales);

const variants = await Promise.all(
  (["fp32", "int8"] as const).map(async (precision) => {
    const path = `${MODELS_DIR}${precision === "int8" ? full.int8 : full.onnx}`;
    const session = await ort.InferenceSession.create(path, sessionOptions(threads));
    const channels = stateChannelsOf(session, path) ?? 0;
    const zeros = () => new ort.Tensor("float32", new Float32Array((channels * padded(height, stride) * padded(width, stride)) / 64), [1, channels, padded(height, stride) / 8, padded(width, stride) / 8]);
    let state: Record<"h" | "c", ort.Tensor> = { h: zeros(), c: zeros() };
    return {
      precision,
      seconds: [] as number[],
      outputs: [] as Uint8Array[],
      async run(rgb: Uint8Array) {
        const out = await session.run({ rgb: new ort.Tensor("uint8", rgb, [1, height, width, 3]), ...state });
        state = { h: out.h_out as ort.Tensor, c: out.c_out as ort.Tensor };
        return out.rgb_out?.data as Uint8Array;
      },
    };
  }),
);
for (let round = 0; round <= rounds; round++) {
  const rgb = frames[round % frames.length] as Uint8Array;
  for (const variant of variants) {
    const started = performance.now();
    const out = await variant.run(rgb);
    if (round > 0) variant.seconds.push((performance.now() - started) / 1000);
    variant.outputs.push(out.slice());
  }
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const [fp32, int8] = variants as [(typeof variants)[0], (typeof variants)[0]];
let squares = 0;
let count = 0;
fp32.outputs.forEach((out, i) => {
  const other = int8.outputs[i] as Uint8Array;
  for (let p = 0; p < out.length; p++) squares += ((out[p] as number) - (other[p] as number)) ** 2;
  count += out.length;
});
console.log(`${describeCpu()}, ${threads} threads, onnxruntime-node ${ort.env.versions.common}`);
console.log(`DSANet ${width}x${height}, ${rounds} rounds after a warm-up, frames of ${SAMPLE}, state carried\n`);
console.log("| precision | median ms | fastest ms | speed | output against fp32's |");
console.log("| --- | ---: | ---: | ---: | --- |");
for (const variant of variants) {
  const speed = median(fp32.seconds) / median(variant.seconds);
  const parity = variant === fp32 ? "-" : `${(10 * Math.log10((255 * 255 * count) / squares)).toFixed(1)} dB`;
  console.log(`| ${variant.precision} | ${(1000 * median(variant.seconds)).toFixed(1)} | ${(1000 * Math.min(...variant.seconds)).toFixed(1)} | ${speed.toFixed(2)}x | ${parity} |`);
}
