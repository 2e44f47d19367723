/**
 * MAXIM's speed per frame, graph against graph, against a yardstick timed in the same run.
 *
 * Each variant is MAXIM converted with the converter's first N rewrites (src/convert/
 * convert-tfjs-model.ts REWRITES; "all" for every one, as the engine runs it), into a temporary
 * file, not the cache. Each runs as a bare onnxruntime session with the engine's options, the
 * yardstick too: a bare session of the shipped DSANet (models/dsanet.onnx) at 384x640. Rounds
 * alternate yardstick, variant, variant, ... after one warm-up round (the first run allocates),
 * so that a busy machine slows them alike; the median and the fastest of the rounds are reported,
 * in seconds and as a multiple of the yardstick's median (on a shared machine the fastest is
 * the nearest to what the graph costs alone). Every variant's output on the package's own blurred street
 * photo (assets/fixture.png, resized to the frame) is set against the first variant's: the
 * largest difference in levels, how many bytes differ, and their PSNR.
 *
 *   npx tsx bench/maxim.bench.ts [WIDTHxHEIGHT] [N,N,...] [ROUNDS] [STAGES]     (default 320x240, 3,all, 3 rounds, 3 stages)
 *
 * N is a count of rewrites or "all", with "+int8" for the products in int8 after them
 * (src/convert/quantize-left-products.ts, quantize-dense.ts), "+left8" or "+dense8" for one of
 * the two alone, e.g. 3,all,all+int8. int8 values go up to what this CPU computes without
 * overflow (int8Limit: 127 with VNNI or AMX, else 63), as the engine converts them;
 * "+int8to127" or "+int8to63" sets that limit.
 *
 * (Until issue 36 this bench set the engine, in its worker, against a bare session of one
 * graph: engine/bare was 0.97-1.04, see models/MODEL_CARD.md; git history has it.)
 *
 * Run it under the heavy-job lock (flock /tmp/heavy.lock): it keeps both cores busy for minutes.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import ort from "onnxruntime-node";
import sharp from "sharp";
import { convertTfjsModel, REWRITES, type Precision } from "../src/convert/convert-tfjs-model.js";
import type { OnnxGraph } from "../src/convert/onnx-proto.js";
import { quantizeDenses } from "../src/convert/quantize-dense.js";
import { quantizeLeftProducts } from "../src/convert/quantize-left-products.js";
import type { Int8Limit } from "../src/convert/symmetric-int8.js";
import { padded } from "../src/engine/engine.js";
import { sessionOptions } from "../src/engine/onnx-engine.js";
import { availableCores } from "../src/machine.js";
import { int8Limit } from "../src/model/integer-units.js";
import { MAXIM, maximModelJson } from "../src/model/maxim.js";
import { bareSession } from "./bare-session.js";
import { describeCpu } from "./cpu.js";

const [width = 320, height = 240] = (process.argv[2] ?? "320x240").split("x").map(Number);
/** int8's two halves alone, in fp32 graphs otherwise: to tell which one gains what. */
const INT8_PARTS = { left8: quantizeLeftProducts, dense8: quantizeDenses } as const;
/**
 * "N" (the first N rewrites), "all", either with "+int8" (the products in int8 after them, as
 * `--precision int8`), or "+left8" / "+dense8" (only the weight-on-the-left products, only the
 * dense layers with it on the right).
 */
const variantsAsked = (process.argv[3] ?? `3,all`).split(",").map((spec) => {
  const [n = "all", precision = "fp32"] = spec.split("+");
  const int8 = /^int8(?:to(127|63))?$/.exec(precision);
  if (precision !== "fp32" && !int8 && !(precision in INT8_PARTS)) throw new Error(`${spec}: after + comes int8, int8to127, int8to63, left8, dense8 or fp32`);
  const part = precision in INT8_PARTS ? (precision as keyof typeof INT8_PARTS) : null;
  const limit: Int8Limit = int8?.[1] ? (Number(int8[1]) as Int8Limit) : int8Limit();
  return { count: n === "all" ? REWRITES.length : Number(n), precision: (int8 ? "int8" : "fp32") as Precision, part, limit };
});
const rounds = Number(process.argv[4] ?? 3);
const stages = Number(process.argv[5] ?? MAXIM.stages);
if (stages !== 1 && stages !== 2 && stages !== 3) throw new Error(`stages: 1, 2 or 3, not ${process.argv[5]}`);
const endAt = MAXIM.stageOutputs[stages - 1] ?? undefined;
const [paddedHeight, paddedWidth] = [padded(height, MAXIM.stride), padded(width, MAXIM.stride)];
const threads = availableCores();
const YARDSTICK = { height: 384, width: 640 } as const;

const modelJson = maximModelJson();
const fixture = join(dirname(modelJson), "..", "assets", "fixture.png");
const photo = new Uint8Array(await sharp(fixture).removeAlpha().resize(width, height, { fit: "cover" }).raw().toBuffer());

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};
const timed = async (run: () => Promise<unknown>) => {
  const start = performance.now();
  await run();
  return (performance.now() - start) / 1000;
};
const label = (count: number, precision: Precision, part: string | null, limit: Int8Limit) =>
  `${count === 0 ? "no rewrites" : `+${REWRITES[count - 1]?.[0]} (${count})`}${precision === "int8" || part ? `, int8 to ${limit}` : ""}${part ? `, ${part} only` : ""}`;

const folder = await mkdtemp(join(tmpdir(), "maxim-bench-"));
try {
  const variants: { name: string; session: ort.InferenceSession; seconds: number[]; output: Uint8Array | null }[] = [];
  for (const { count, precision, part, limit } of variantsAsked) {
    let started = performance.now();
    const bytes = await convertTfjsModel(modelJson, {
      inputShapes: { xs_0: [1, paddedHeight, paddedWidth, 3] },
      pixels: { height: paddedHeight, width: paddedWidth },
      rewrites: [...REWRITES.slice(0, count).map(([, rewrite]) => rewrite), ...(part ? [(graph: OnnxGraph) => INT8_PARTS[part](graph, limit)] : [])],
      precision,
      int8Limit: limit,
      ...(endAt ? { endAt } : {}),
    });
    const path = join(folder, `maxim-${count}-${part ?? precision}-${limit}.onnx`);
    await writeFile(path, bytes);
    const converted = (performance.now() - started) / 1000;
    started = performance.now();
    const session = await ort.InferenceSession.create(path, sessionOptions(threads, "cpu", false));
    console.log(`${label(count, precision, part, limit)}: converted in ${converted.toFixed(1)} s, session in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    variants.push({ name: label(count, precision, part, limit), session, seconds: [], output: null });
  }
  const yardstick = await bareSession("full", YARDSTICK.height, YARDSTICK.width, threads);
  const yardstickSeconds: number[] = [];
  const feeds = { rgb: new ort.Tensor("uint8", photo, [1, height, width, 3]) };
  for (let round = 0; round <= rounds; round++) {
    const ruler = await timed(() => yardstick.run());
    if (round > 0) yardstickSeconds.push(ruler);
    for (const variant of variants) {
      let result: ort.InferenceSession.OnnxValueMapType = {};
      const seconds = await timed(async () => (result = await variant.session.run(feeds)));
      if (round > 0) variant.seconds.push(seconds);
      variant.output ??= new Uint8Array((result.rgb_out?.data as Uint8Array).slice());
    }
  }
  const ruler = median(yardstickSeconds);
  console.log(`\n${describeCpu()}, ${threads} threads, onnxruntime-node ${ort.env.versions.common}; ${rounds} rounds after a warm-up`);
  console.log(`yardstick (bare DSANet ${YARDSTICK.width}x${YARDSTICK.height}): median ${(ruler * 1000).toFixed(0)} ms, fastest ${(Math.min(...yardstickSeconds) * 1000).toFixed(0)} ms (${yardstickSeconds.map((s) => (s * 1000).toFixed(0)).join(", ")})`);
  console.log(`\n| MAXIM ${width}x${height} (padded ${paddedWidth}x${paddedHeight}), ${stages} of ${MAXIM.stages} stages | s a frame (median) | fastest | x yardstick | rounds | vs first: max level diff, bytes differing, PSNR |`);
  console.log("| --- | ---: | ---: | ---: | --- | --- |");
  const [first] = variants;
  for (const variant of variants) {
    const seconds = median(variant.seconds);
    console.log(`| ${variant.name} | ${seconds.toFixed(2)} | ${Math.min(...variant.seconds).toFixed(2)} | ${(seconds / ruler).toFixed(1)} | ${variant.seconds.map((s) => s.toFixed(2)).join(", ")} | ${parity(first?.output ?? null, variant.output)} |`);
  }
  await yardstick.release();
  await Promise.all(variants.map((v) => v.session.release()));
} finally {
  await rm(folder, { recursive: true, force: true });
}

/** How far `output` is from `reference`, in 8-bit levels. */
function parity(reference: Uint8Array | null, output: Uint8Array | null): string {
  if (!reference || !output || reference.length !== output.length) return "-";
  let [max, differing, squares] = [0, 0, 0];
  for (let i = 0; i < output.length; i++) {
    const d = Math.abs((output[i] as number) - (reference[i] as number));
    if (d > 0) differing++;
    max = Math.max(max, d);
    squares += d * d;
  }
  const psnr = squares === 0 ? "identical" : `${(10 * Math.log10((255 * 255 * output.length) / squares)).toFixed(1)} dB`;
  return `${max}, ${differing} of ${output.length}, ${psnr}`;
}
