/**
 * Several cameras, one inference? N frames as one batched engine call (each stream's ConvLSTM
 * state in its row) against N calls one after another, side by side in one run, on a bare
 * onnxruntime session with the engine's options, for each shipped model.
 *
 *   npm run bench:batch [-- --cameras 4 --size 640x360 --rounds 5]
 *
 * On a CPU a single 640x360 frame already keeps every core busy, so batching buys nothing
 * there; it is a GPU's way to fill itself (DeepStream's stream muxer, Triton's sequence batcher).
 */
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import ort from "onnxruntime-node";
import { availableCores } from "../src/machine.js";
import { strideFor } from "../src/model/engine.js";
import { modelFile, SHIPPED_MODELS, type ShippedModel } from "../src/model/load-engine.js";
import { sessionOptions, stateChannelsOf } from "../src/model/onnx-engine.js";

const { values } = parseArgs({
  options: {
    cameras: { type: "string", default: "4" },
    size: { type: "string", default: "640x360" },
    rounds: { type: "string", default: "5" },
  },
});
const cameras = Number(values.cameras);
const [width, height] = values.size.split("x").map(Number) as [number, number];

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[values.length >> 1] as number;
}

console.log(`Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? "unknown CPU"}), ${cameras} cameras at ${width}x${height}`);
console.log("| model | one at a time, frames/s | batched, frames/s | batched / one at a time |");
console.log("| --- | ---: | ---: | ---: |");
for (const model of Object.keys(SHIPPED_MODELS) as ShippedModel[]) {
  const path = modelFile({ type: "onnx", model, scales: null }).path;
  const session = await ort.InferenceSession.create(path, sessionOptions(availableCores()));
  const stride = strideFor(SHIPPED_MODELS[model].scales);
  const [h, w] = [Math.ceil(height / stride) * stride, Math.ceil(width / stride) * stride];
  const channels = stateChannelsOf(session, path);
  const feeds = (n: number) => ({
    frame: new ort.Tensor("float32", new Float32Array(n * 3 * h * w).fill(0.5), [n, 3, h, w]),
    h: new ort.Tensor("float32", new Float32Array((n * channels * h * w) / 64), [n, channels, h / 8, w / 8]),
    c: new ort.Tensor("float32", new Float32Array((n * channels * h * w) / 64), [n, channels, h / 8, w / 8]),
  });
  const [one, all] = [feeds(1), feeds(cameras)];
  await session.run(one); // warm-up, both shapes
  await session.run(all);
  const [sequential, batched]: [number[], number[]] = [[], []];
  for (let round = 0; round < Number(values.rounds); round++) {
    let started = performance.now();
    for (let i = 0; i < cameras; i++) await session.run(one);
    sequential.push(performance.now() - started);
    started = performance.now();
    await session.run(all);
    batched.push(performance.now() - started);
  }
  const [fpsOne, fpsBatch] = [(cameras * 1000) / median(sequential), (cameras * 1000) / median(batched)];
  console.log(`| ${model} | ${fpsOne.toFixed(2)} | ${fpsBatch.toFixed(2)} | ${(fpsBatch / fpsOne).toFixed(2)} |`);
  await session.release();
}
