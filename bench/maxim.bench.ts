/**
 * MAXIM's speed and memory at a frame size: the project's engine (worker thread, uint8 frames
 * in and out) against a bare onnxruntime session on the same converted graph, same threads,
 * alternated in one process (bare, engine, bare, engine; the second of each is reported: the
 * first allocates), and the peak RSS growth per padded pixel of the first bare inference.
 *
 *   npx tsx bench/maxim.bench.ts [WIDTHxHEIGHT] [STAGES]     (default 640x360, all 3 stages)
 */
import ort from "onnxruntime-node";
import { availableCores } from "../src/machine.js";
import { loadConfig } from "../src/config/load.js";
import { loadEngineInWorker } from "../src/engine/engine-in-worker.js";
import { padded } from "../src/engine/engine.js";
import { convertedMaxim, MAXIM } from "../src/model/maxim.js";
import { sessionOptions } from "../src/engine/onnx-engine.js";

const [width = 640, height = 360] = (process.argv[2] ?? "640x360").split("x").map(Number);
const stages = Number(process.argv[3] ?? MAXIM.stages);
if (stages !== 1 && stages !== 2 && stages !== 3) throw new Error(`stages: 1, 2 or 3, not ${process.argv[3]}`);
const [paddedHeight, paddedWidth] = [padded(height, MAXIM.stride), padded(width, MAXIM.stride)];
const threads = availableCores();
const rgb = () => new Uint8Array(height * width * 3).fill(128);

let started = performance.now();
const model = await convertedMaxim(paddedHeight, paddedWidth, stages, (line) => console.log(line));
console.log(`graph ready (converted or cached) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
started = performance.now();
const bare = await ort.InferenceSession.create(model, sessionOptions(threads, "cpu", false));
console.log(`bare session created in ${((performance.now() - started) / 1000).toFixed(1)} s`);
const config = await loadConfig(null);
const engine = await loadEngineInWorker({ ...config.engine, model: "maxim", stages, threads });

const rssBefore = process.memoryUsage().rss;
const timed = async (run: () => Promise<unknown>) => {
  const start = performance.now();
  await run();
  return (performance.now() - start) / 1000;
};
const runBare = () => bare.run({ rgb: new ort.Tensor("uint8", rgb(), [1, height, width, 3]) });
const runEngine = () => engine.run([{ rgb: rgb(), state: null }], height, width);
const firstBare = await timed(runBare);
const bytesPerPixel = (process.resourceUsage().maxRSS * 1024 - rssBefore) / (paddedHeight * paddedWidth);
const firstEngine = await timed(runEngine);
const [secondBare, secondEngine] = [await timed(runBare), await timed(runEngine)];
console.log(
  `${width}x${height} (padded ${paddedWidth}x${paddedHeight}), ${stages} of ${MAXIM.stages} stages, ${threads} threads: bare ${secondBare.toFixed(1)} s/frame ` +
    `(first ${firstBare.toFixed(1)}), engine ${secondEngine.toFixed(1)} s/frame (first ${firstEngine.toFixed(1)}), ` +
    `engine/bare throughput ${(secondBare / secondEngine).toFixed(2)}; peak RSS ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(2)} GiB, ` +
    `${Math.round(bytesPerPixel)} bytes per padded pixel (bare, first inference)`,
);
await engine.close();
await bare.release();
