import { floatScalar, indexGraph, withReplacements } from "./graph-index.js";
import type { OnnxGraph, OnnxNode } from "./onnx-proto.js";

/**
 * Leaky ReLU as jax (flax's nn.leaky_relu) writes it and jax2tf exports it:
 *
 *   y = Where(x >= 0, x, alpha * x)
 *
 * three passes over the tensor (and a tensor of booleans), becomes one LeakyRelu node. That
 * is one pass, and more: onnxruntime's transpose optimizer pushes the converter's NHWC/NCHW
 * transposes through a LeakyRelu (not through Where) so that a convolution, its activation and
 * the next convolution meet in NCHW, where the activation runs inside the first convolution
 * (its FusedConv). In MAXIM's 36 residual channel-attention blocks, conv → leaky ReLU → conv.
 * Anything that strays from the pattern is left as it is.
 */
export function fuseLeakyRelus(graph: OnnxGraph): OnnxGraph {
  const { made, split } = indexGraph(graph);
  const replaced = new Map<OnnxNode, OnnxNode>();
  for (const where of graph.nodes) {
    if (where.op !== "Where") continue;
    const [condition, x, scaled] = where.inputs;
    const compare = made(condition, "GreaterOrEqual");
    const zero = compare && split(compare);
    const product = made(scaled, "Mul");
    const alpha = product && split(product);
    if (!zero || compare?.inputs[0] !== x || zero.value !== x || floatScalar(zero.constant) !== 0) continue;
    const slope = alpha && alpha.value === x ? floatScalar(alpha.constant) : null;
    if (slope === null || x === undefined) continue;
    replaced.set(where, { op: "LeakyRelu", inputs: [x], outputs: where.outputs, attributes: { alpha: { float: slope } } });
  }
  return withReplacements(graph, replaced);
}
