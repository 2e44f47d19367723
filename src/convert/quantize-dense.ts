import { symmetricInt8, type Int8Limit } from "./symmetric-int8.js";
import { AddedInitializers, indexGraph, withReplacements } from "./graph-index.js";
import { OnnxType, type OnnxGraph, type OnnxNode, type OnnxTensor } from "./onnx-proto.js";

/**
 * The narrowest dense layers gain nothing from 8-bit products: measured on the dev machine
 * (AVX512-VNNI, AMX-INT8), a (81920 x 32) @ (32 x 64) product took as long in int8 as in fp32
 * (the pass over memory costs more than the products), from 64 inputs on int8 was 1.5-3x faster.
 */
const MIN_INPUTS = 64;

/**
 * A dense layer with a constant weight, y = x @ W (+ b), as onnxruntime's DynamicQuantizeMatMul
 * (com.microsoft): W stored in int8, symmetric, one scale per output column; x quantized to
 * uint8 at run time over its own range; the product in integers on the CPU's VNNI/AMX units,
 * the scales and the bias applied as it writes. For `--precision int8`: what it costs in
 * quality is measured, not assumed (bench/maxim.bench.ts). Layers of fewer than MIN_INPUTS
 * inputs stay fp32. W's values go up to `limit` (int8Limit: 63 where the CPU has no VNNI).
 */
export function quantizeDenses(graph: OnnxGraph, limit: Int8Limit = 127): OnnxGraph {
  const { constants, onlyConsumer, split } = indexGraph(graph);
  const replaced = new Map<OnnxNode, OnnxNode | readonly OnnxNode[]>();
  const added = new AddedInitializers();
  for (const matmul of graph.nodes) {
    if (matmul.op !== "MatMul") continue;
    const weight = matmul.inputs[1] === undefined ? undefined : constants.get(matmul.inputs[1]);
    const x = matmul.inputs[0];
    if (!weight || x === undefined || constants.has(x) || weight.type !== OnnxType.float || weight.dims.length !== 2 || (weight.dims[0] as number) < MIN_INPUTS) continue;
    const n = weight.dims[1] as number;
    const add = onlyConsumer(matmul, "Add");
    const biasPart = add && split(add);
    const bias = biasPart && biasPart.value === matmul.outputs[0] && biasPart.constant.dims.length === 1 && biasPart.constant.dims[0] === n ? biasPart.constant : null;
    const { quantized, scales, zeros } = quantizedWeight(weight, limit, added);
    const output = bias && add ? add.outputs : matmul.outputs;
    replaced.set(matmul, {
      op: "DynamicQuantizeMatMul",
      domain: "com.microsoft",
      inputs: [x, quantized.name, scales.name, zeros.name, ...(bias ? [bias.name] : [])],
      outputs: output,
    });
    if (bias && add) replaced.set(add, []);
  }
  return withReplacements(graph, replaced, added);
}

/** W (k, n) as int8 with one scale per column and zero points 0 (symmetricInt8). */
function quantizedWeight(weight: OnnxTensor, limit: Int8Limit, added: AddedInitializers) {
  const [k, n] = weight.dims as [number, number];
  const { scale, values } = symmetricInt8(weight, "column", limit);
  const quantized = added.once(`${weight.name}__int8`, () => ({ type: OnnxType.int8, dims: [k, n], data: new Uint8Array(values.buffer) }));
  const scales = added.once(`${weight.name}__int8_scales`, () => ({ type: OnnxType.float, dims: [n], data: new Uint8Array(scale.buffer) }));
  const zeros = added.once(`${weight.name}__int8_zeros`, () => ({ type: OnnxType.int8, dims: [n], data: new Uint8Array(n) }));
  return { quantized, scales, zeros };
}
