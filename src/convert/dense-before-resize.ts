import { indexGraph, withReplacements } from "./graph-index.js";
import { OnnxType, type OnnxGraph, type OnnxNode } from "./onnx-proto.js";

/**
 * A dense layer over the channels that narrows them (W: (c, c') with c' < c), after a chain
 * that only moves axes and multiplies other axes by constant matrices, as jax2tf writes MAXIM's
 * UpSampleRatio (jax.image.resize's bilinear interpolation as an einsum per spatial axis, each
 * a Transpose/MatMul/Transpose here, then a 1x1 convolution):
 *
 *   y = chain(x) @ W          chain: Transposes and MatMuls by constants on axes other than x's channels
 *
 * computes the same with the dense layer first, since a map over the other axes and one over the
 * channels commute:
 *
 *   y = chain(x @ W)
 *
 * and then every tensor of the chain carries c' channels instead of c: MAXIM resizes its coarse
 * scales' 128 channels to the full frame and only then narrows them to 32, so its largest
 * transposes moved four times the bytes they need to. A widening layer (c' > c), a chain that
 * multiplies along the channels, or one whose values anything else reads, is left as it is.
 */
export function denseBeforeResize(graph: OnnxGraph): OnnxGraph {
  const { constants, made, consumers } = indexGraph(graph);
  const replaced = new Map<OnnxNode, OnnxNode | readonly OnnxNode[]>();
  for (const dense of graph.nodes) {
    const match = dense.op === "MatMul" ? matchChain(dense) : null;
    if (!match) continue;
    const [y] = dense.outputs as [string];
    let input = `${y}__narrowed`;
    const nodes: OnnxNode[] = [{ op: "MatMul", inputs: [match.x, dense.inputs[1] as string], outputs: [input] }];
    match.chain.forEach((node, k) => {
      const output = k === match.chain.length - 1 ? y : `${y}__narrowed_${k}`;
      nodes.push({ ...node, inputs: [input, ...node.inputs.slice(1)], outputs: [output] });
      input = output;
    });
    replaced.set(dense, nodes);
  }
  return withReplacements(graph, replaced);

  function matchChain(dense: OnnxNode) {
    const weight = dense.inputs[1] === undefined ? undefined : constants.get(dense.inputs[1]);
    if (!weight || weight.type !== OnnxType.float || weight.dims.length !== 2 || (weight.dims[1] as number) >= (weight.dims[0] as number)) return null;
    // Upwards from the dense layer's input, following where its last axis (the channels) came from.
    const chain: OnnxNode[] = [];
    let value = dense.inputs[0];
    let axis: number | null = null;
    let rank = 0;
    for (;;) {
      const node = made(value, "Transpose") ?? made(value, "MatMul");
      if (!node || consumers(node).length !== 1) break;
      if (node.op === "Transpose") {
        const perm = node.attributes?.perm;
        if (!Array.isArray(perm)) break;
        rank = perm.length;
        axis = perm[axis ?? rank - 1] as number;
      } else {
        const matrix = node.inputs[1] === undefined ? undefined : constants.get(node.inputs[1]);
        // A product by a constant on the right multiplies along the last axis: never the channels'.
        if (!matrix || matrix.dims.length !== 2 || axis === null || axis === rank - 1) break;
      }
      chain.unshift(node);
      value = node.inputs[0];
    }
    // Trim back to where the channels are the last axis of the chain's input, with a product inside.
    while (chain.length > 0 && !channelsLastAt(chain)) chain.shift();
    const x = chain[0]?.inputs[0];
    if (x === undefined || !chain.some((n) => n.op === "MatMul")) return null;
    return { x, chain };
  }
}

/** Whether the channels (the last axis at the chain's end) are the last axis of its first node's input. */
function channelsLastAt(chain: readonly OnnxNode[]): boolean {
  let axis: number | null = null;
  let rank = 0;
  for (let k = chain.length - 1; k >= 0; k--) {
    const node = chain[k] as OnnxNode;
    if (node.op !== "Transpose") {
      if (axis === null) return false;
      continue;
    }
    const perm = node.attributes?.perm as number[];
    rank = perm.length;
    axis = perm[axis ?? rank - 1] as number;
  }
  return axis !== null && axis === rank - 1;
}
