/**
 * The converted MAXIM graph against TensorFlow.js's own CPU backend, same weights, same
 * SIZExSIZE input (default 64): the converter's end-to-end check. Too slow for the suite
 * (tfjs-cpu runs MAXIM's 43k nodes in plain JavaScript). Prints the largest absolute difference.
 *
 *   npx tsx bench/maxim-parity.ts [SIZE]
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import ort from "onnxruntime-node";
import { convertTfjsModel } from "../src/convert/convert-tfjs-model.js";
import { maximModelJson } from "../src/model/maxim.js";
import { sessionOptions } from "../src/model/onnx-engine.js";

const size = Number(process.argv[2] ?? 64);
const modelJson = maximModelJson();
const input = Float32Array.from({ length: size * size * 3 }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.37) * Math.cos(i * 0.011));

const onnx = await convertTfjsModel(modelJson, { inputShapes: { xs_0: [1, size, size, 3] } });
const session = await ort.InferenceSession.create(onnx, sessionOptions(2));
let start = performance.now();
const ours = (await session.run({ xs_0: new ort.Tensor("float32", input, [1, size, size, 3]) })).output_0?.data as Float32Array;
console.log(`onnxruntime: ${((performance.now() - start) / 1000).toFixed(1)} s`);

await tf.setBackend("cpu");
const manifest = JSON.parse(await readFile(modelJson, "utf8")) as tf.io.ModelJSON;
const group = manifest.weightsManifest[0];
if (!group) throw new Error(`${modelJson}: no weights`);
const shards = await Promise.all(group.paths.map((p) => readFile(join(dirname(modelJson), p))));
const weightData = new Uint8Array(Buffer.concat(shards)).buffer;
const model = await tf.loadGraphModel({ load: async () => ({ ...manifest, weightSpecs: group.weights, weightData }) });
start = performance.now();
const theirs = (model.execute(tf.tensor4d(input, [1, size, size, 3])) as tf.Tensor).dataSync();
console.log(`tfjs cpu: ${((performance.now() - start) / 1000).toFixed(1)} s`);

let maxDiff = 0;
for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs((ours[i] ?? 0) - (theirs[i] ?? 0)));
console.log(`${size}x${size}: max |onnx - tfjs-cpu| = ${maxDiff.toExponential(2)} over ${ours.length} values`);
