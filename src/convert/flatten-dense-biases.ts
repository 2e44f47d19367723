import { AddedInitializers, indexGraph, withReplacements } from "./graph-index.js";
import { graphShapes } from "./graph-shapes.js";
import { OnnxType, type OnnxGraph, type OnnxNode } from "./onnx-proto.js";

/**
 * A dense layer's bias as flax and jax2tf write it, shaped (1, 1, 1, n) to broadcast over NHWC:
 *
 *   y = MatMul(x, W) + b          W: (k, n), b: (1, ..., 1, n)
 *
 * takes the shape (n). Nothing changes in what it computes, but onnxruntime's own fusions look
 * for a bias of exactly that shape: MatMulAddFusion then makes the pair one Gemm (the bias
 * written in the product's own pass over its output, not one more pass of its own), and
 * BiasGelu folds the Add into the FastGelu that follows. With (1, 1, 1, n) neither fires, and
 * MAXIM ran 516 such Adds, each a pass over a whole tensor. Left as it is: a bias that would
 * add axes (its rank above the product's), or anything that strays from the pattern.
 */
export function flattenDenseBiases(graph: OnnxGraph): OnnxGraph {
  const { constants, made, split } = indexGraph(graph);
  const shapes = graphShapes(graph);
  const replaced = new Map<OnnxNode, OnnxNode>();
  const added = new AddedInitializers();
  for (const add of graph.nodes) {
    if (add.op !== "Add") continue;
    const bias = split(add);
    const matmul = made(bias?.value, "MatMul");
    const weight = matmul?.inputs[1] === undefined ? undefined : constants.get(matmul.inputs[1]);
    if (!bias || !matmul || !weight || weight.dims.length !== 2 || bias.constant.type !== OnnxType.float) continue;
    const n = weight.dims[1] as number;
    const dims = bias.constant.dims;
    const productRank = shapes.get(bias.value)?.length;
    if (dims.length < 2 || dims.at(-1) !== n || dims.slice(0, -1).some((d) => d !== 1) || productRank === undefined || productRank < dims.length) continue;
    const flat = added.once(`${bias.constant.name}__flat`, () => ({ ...bias.constant, dims: [n] }));
    replaced.set(add, { ...add, inputs: [bias.value, flat.name] });
  }
  return withReplacements(graph, replaced, added);
}
