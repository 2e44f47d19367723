/**
 * One of MAXIM's Einsum equations ("abcg,gf->abcf", a dense layer over channels, at a 640x384
 * frame's stage-1 size) as ONNX Einsum against the converter's Transpose/MatMul rewrite, on
 * onnxruntime's CPU provider, alternated in one process. Prints the median of each.
 *
 *   npx tsx bench/einsum-matmul.bench.ts
 */
import ort from "onnxruntime-node";
import { availableCores } from "../src/machine.js";
import { emitEinsum } from "../src/convert/einsum.js";
import { GraphBuilder } from "../src/convert/onnx-builder.js";
import { encodeModel, OnnxType } from "../src/convert/onnx-proto.js";
import { sessionOptions } from "../src/engine/onnx-engine.js";

const [a, b, c, g, f] = [1, 192, 320, 64, 128];
const weight = Float32Array.from({ length: g * f }, (_, i) => Math.sin(i));
const x = Float32Array.from({ length: a * b * c * g }, (_, i) => Math.cos(i));

async function session(asEinsum: boolean): Promise<ort.InferenceSession> {
  const builder = new GraphBuilder();
  builder.initializer({ name: "w", type: OnnxType.float, dims: [g, f], data: new Uint8Array(weight.buffer) });
  if (asEinsum) builder.add("Einsum", ["x", "w"], { equation: "abcg,gf->abcf" }, "y");
  else emitEinsum(builder, "abcg,gf->abcf", ["x", "w"], "y");
  const graph = builder.graph("einsum", [{ name: "x", type: OnnxType.float, dims: [a, b, c, g] }], [{ name: "y", type: OnnxType.float, dims: [a, b, c, f] }]);
  return ort.InferenceSession.create(encodeModel(graph, 17, "bench"), sessionOptions(availableCores()));
}

const sessions = { einsum: await session(true), matmul: await session(false) };
const times: Record<keyof typeof sessions, number[]> = { einsum: [], matmul: [] };
const feed = { x: new ort.Tensor("float32", x, [a, b, c, g]) };
for (let round = 0; round < 12; round++) {
  for (const name of ["einsum", "matmul"] as const) {
    const start = performance.now();
    await sessions[name].run(feed);
    if (round > 1) times[name].push(performance.now() - start);
  }
}
const median = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)] ?? NaN;
console.log(`abcg,gf->abcf at ${[a, b, c, g].join("x")} x ${g}x${f}: Einsum ${median(times.einsum).toFixed(1)} ms, MatMul ${median(times.matmul).toFixed(1)} ms (medians of 10)`);
