import { floatScalar, indexGraph, withReplacements } from "./graph-index.js";
import type { OnnxGraph, OnnxNode, OnnxTensor } from "./onnx-proto.js";

/**
 * GELU in its tanh approximation, as jax (flax's nn.gelu) writes it and jax2tf exports it:
 *
 *   y = (0.5 * x) * (1 + tanh(0.7978845608 * (x + (0.044715 * x) * (x * x))))
 *
 * nine ops, each a pass over the whole tensor, become onnxruntime's FastGelu: its com.microsoft
 * contrib op, the same formula in one pass, which its CPU and WebGPU providers both have (a
 * converted graph is only ever run by onnxruntime). MAXIM has 240 of them: at 640x384 a frame
 * takes 30.0-31.5 s instead of 38.0-38.3 on two cores, a bare session on each graph alternated
 * (outputs 1 level apart on 20 of 737,280 bytes). Anything that strays from the pattern is
 * left as it is.
 */
export function fuseGelus(graph: OnnxGraph): OnnxGraph {
  const { made, onlyConsumer, split } = indexGraph(graph);
  const replaced = new Map<OnnxNode, OnnxNode>();
  for (const tanh of graph.nodes) {
    const match = tanh.op === "Tanh" ? matchGelu(tanh) : null;
    if (match) replaced.set(match.last, { op: "FastGelu", domain: "com.microsoft", inputs: [match.x], outputs: match.last.outputs });
  }
  return withReplacements(graph, replaced);

  /** What `node` multiplies (or adds) by `constant`, in either order; undefined for any other node. */
  function scaled(node: OnnxNode | null, constant: number): string | undefined {
    const parts = node && split(node);
    return parts && near(parts.constant, constant) ? parts.value : undefined;
  }

  function matchGelu(tanh: OnnxNode) {
    // Upwards: tanh(sqrt(2/pi) * (x + 0.044715 x³)), the cube as (0.044715 * x) * (x * x).
    const inner = made(scaled(made(tanh.inputs[0], "Mul"), Math.sqrt(2 / Math.PI)), "Add");
    const [a, b] = inner?.inputs ?? [];
    for (const [x, cube] of [[a, b], [b, a]] as const) {
      const product = made(cube, "Mul");
      const [p, q] = product?.inputs ?? [];
      const cubic = [made(p, "Mul"), made(q, "Mul")];
      const linear = cubic.find((n) => scaled(n, 0.044715) === x);
      const square = cubic.find((n) => n !== linear && n?.inputs[0] === x && n?.inputs[1] === x);
      if (x === undefined || !linear || !square) continue;
      // Downwards: (0.5 * x) * (1 + tanh).
      const plusOne = onlyConsumer(tanh, "Add");
      const last = plusOne && scaled(plusOne, 1) === tanh.outputs[0] ? onlyConsumer(plusOne, "Mul") : null;
      const half = last?.inputs.find((i) => i !== plusOne?.outputs[0]);
      if (!last || scaled(made(half, "Mul"), 0.5) !== x) return null;
      return { x, last };
    }
    return null;
  }
}

/** Whether `tensor` is a float scalar (or a one-element tensor) within float rounding of `value`. */
function near(tensor: OnnxTensor, value: number): boolean {
  const actual = floatScalar(tensor);
  return actual !== null && Math.abs(actual - value) <= 1e-6 * Math.abs(value);
}
