/**
 * The converted MAXIM graph against a run of the same weights outside the converter: the
 * converter's end-to-end check, too slow for the suite. Prints the largest absolute difference.
 *
 *   npx tsx bench/maxim-parity.ts [SIZE] [pytorch|tfjs]     (default 128 pytorch)
 *
 * pytorch: bench/maxim_reference.py, the graph run node by node in eager PyTorch (seconds to
 * minutes; at 128 and above MAXIM's blocks and grids are more than one cell, which 64 does not
 * exercise). tfjs: TensorFlow.js's own CPU backend (plain JavaScript: 64x64 took 53 minutes).
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import ort from "onnxruntime-node";
import { convertTfjsModel } from "../src/convert/convert-tfjs-model.js";
import { maximModelJson } from "../src/model/maxim.js";
import { sessionOptions } from "../src/engine/onnx-engine.js";

const size = Number(process.argv[2] ?? 128);
const reference = process.argv[3] ?? "pytorch";
const modelJson = maximModelJson();
const input = Float32Array.from({ length: size * size * 3 }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.37) * Math.cos(i * 0.011));

const seconds = (start: number) => `${((performance.now() - start) / 1000).toFixed(1)} s`;

async function onnxruntime(): Promise<Float32Array> {
  const onnx = await convertTfjsModel(modelJson, { inputShapes: { xs_0: [1, size, size, 3] } });
  const session = await ort.InferenceSession.create(onnx, sessionOptions(2));
  const start = performance.now();
  const output = (await session.run({ xs_0: new ort.Tensor("float32", input, [1, size, size, 3]) })).output_0?.data as Float32Array;
  console.log(`onnxruntime: ${seconds(start)}`);
  return output;
}

async function pytorch(): Promise<Float32Array> {
  const folder = await mkdtemp(join(tmpdir(), "maxim-parity-"));
  try {
    await writeFile(join(folder, "in.f32"), input);
    const start = performance.now();
    const script = join(dirname(new URL(import.meta.url).pathname), "maxim_reference.py");
    execFileSync("/usr/bin/python3", [script, modelJson, join(folder, "in.f32"), join(folder, "out.f32"), String(size), String(size)], { stdio: "inherit" });
    console.log(`pytorch: ${seconds(start)}`);
    const bytes = await readFile(join(folder, "out.f32"));
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

async function tfjsCpu(): Promise<Float32Array> {
  await tf.setBackend("cpu");
  const manifest = JSON.parse(await readFile(modelJson, "utf8")) as tf.io.ModelJSON;
  const group = manifest.weightsManifest[0];
  if (!group) throw new Error(`${modelJson}: no weights`);
  const shards = await Promise.all(group.paths.map((p) => readFile(join(dirname(modelJson), p))));
  const weightData = new Uint8Array(Buffer.concat(shards)).buffer;
  const model = await tf.loadGraphModel({ load: async () => ({ ...manifest, weightSpecs: group.weights, weightData }) });
  const start = performance.now();
  const output = (model.execute(tf.tensor4d(input, [1, size, size, 3])) as tf.Tensor).dataSync() as Float32Array;
  console.log(`tfjs cpu: ${seconds(start)}`);
  return output;
}

if (reference !== "pytorch" && reference !== "tfjs") throw new Error(`reference: pytorch or tfjs, not ${reference}`);
const ours = await onnxruntime();
const theirs = reference === "pytorch" ? await pytorch() : await tfjsCpu();
if (theirs.length !== ours.length) throw new Error(`${reference} gave ${theirs.length} values, onnxruntime ${ours.length}`);
let maxDiff = 0;
for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs((ours[i] ?? 0) - (theirs[i] ?? 0)));
console.log(`${size}x${size}: max |onnx - ${reference}| = ${maxDiff.toExponential(2)} over ${ours.length} values`);
