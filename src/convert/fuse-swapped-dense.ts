import { AddedInitializers, indexGraph, withReplacements } from "./graph-index.js";
import { OnnxType, type OnnxGraph, type OnnxNode, type OnnxTensor } from "./onnx-proto.js";

/**
 * A dense layer across one axis of a tensor, as MAXIM's gMLP blocks write it (jax's swapaxes,
 * Dense, swapaxes back) and jax2tf exports it:
 *
 *   y = Transpose_p(Transpose_p(x) @ W + b)          p swaps axis k with the last
 *
 * computes the same with the weight on the left and no transposes:
 *
 *   k = rank - 2:   y = Wᵀ @ x + b[:, None]                 (MatMul broadcasts Wᵀ over the leading axes)
 *   k = 1:          y = Conv(x, Wᵀ as n x d x 1 x 1, b)     (a dense layer over axis 1 is a 1x1 convolution)
 *
 * Each transpose moved the whole tensor through memory: MAXIM has 180 such layers, and at
 * 640x384 their transposes took some 12 s of a 63 s frame. Fused, a frame takes 38.3-38.6 s
 * instead of 54.1-56.9 on two cores (1 level apart on 25 of 737,280 output bytes). Other axes,
 * and anything that strays from the pattern, are left as they are.
 */
export function fuseSwappedDenses(graph: OnnxGraph): OnnxGraph {
  const { constants, onlyConsumer, split } = indexGraph(graph);
  const replaced = new Map<OnnxNode, OnnxNode[]>();
  const added = new AddedInitializers();
  /** Wᵀ, n x d, with `trailingOnes` axes of 1 after them (a convolution's kernel). */
  const transposed = (weight: OnnxTensor, trailingOnes: number): OnnxTensor =>
    added.once(`${weight.name}__transposed${trailingOnes ? "_kernel" : ""}`, () => {
      const [d = 0, n = 0] = weight.dims;
      const w = new Float32Array(weight.data.slice().buffer);
      const wt = new Float32Array(w.length);
      for (let i = 0; i < d; i++) for (let j = 0; j < n; j++) wt[j * d + i] = w[i * n + j] as number;
      return { type: OnnxType.float, dims: [n, d, ...Array<number>(trailingOnes).fill(1)], data: new Uint8Array(wt.buffer) };
    });
  const reshaped = (bias: OnnxTensor, dims: readonly number[]): OnnxTensor => added.once(`${bias.name}__${dims.join("x")}`, () => ({ ...bias, dims }));

  for (const first of graph.nodes) {
    const match = first.op === "Transpose" ? matchSwappedDense(first) : null;
    if (!match) continue;
    const { x, weight, n, bias, axis, rank, last } = match;
    const [y] = last.outputs as [string];
    if (axis === rank - 2) {
      const product = `${y}__left_matmul`;
      replaced.set(last, [
        { op: "MatMul", inputs: [transposed(weight, 0).name, x], outputs: [product] },
        { op: "Add", inputs: [product, reshaped(bias, [n, 1]).name], outputs: [y] },
      ]);
    } else {
      replaced.set(last, [{ op: "Conv", inputs: [x, transposed(weight, rank - 2).name, reshaped(bias, [n]).name], outputs: [y] }]);
    }
  }
  return withReplacements(graph, replaced, added);

  function matchSwappedDense(first: OnnxNode) {
    const perm = first.attributes?.perm;
    const rank = Array.isArray(perm) ? perm.length : 0;
    const axis = swappedWithLast(perm);
    if (axis === null || (axis !== rank - 2 && axis !== 1)) return null;
    const matmul = onlyConsumer(first, "MatMul");
    const weight = matmul?.inputs[1] === undefined ? undefined : constants.get(matmul.inputs[1]);
    if (!matmul || matmul.inputs[0] !== first.outputs[0] || !weight || weight.type !== OnnxType.float || weight.dims.length !== 2) return null;
    const add = onlyConsumer(matmul, "Add");
    const bias = add && split(add);
    const n = weight.dims[1] as number;
    // The bias must run along the last axis only, adding no axes: (n) or (1, ..., 1, n).
    if (!add || !bias || bias.value !== matmul.outputs[0] || bias.constant.type !== OnnxType.float) return null;
    const biasDims = bias.constant.dims;
    if (biasDims.length > rank || biasDims.at(-1) !== n || biasDims.some((d, i) => i < biasDims.length - 1 && d !== 1)) return null;
    // The same swap back (a swap is its own inverse).
    const last = onlyConsumer(add, "Transpose");
    const back = last?.attributes?.perm;
    if (!last || !Array.isArray(back) || back.length !== rank || swappedWithLast(back) !== axis) return null;
    const x = first.inputs[0];
    if (x === undefined) return null;
    return { x, weight, n, bias: bias.constant, axis, rank, last };
  }
}

/** The axis a Transpose's `perm` swaps with the last one, leaving the rest in place; else null. */
function swappedWithLast(perm: unknown): number | null {
  if (!Array.isArray(perm) || perm.length < 3) return null;
  const last = perm.length - 1;
  const moved = perm.flatMap((p: number, i) => (p === i ? [] : [i]));
  if (moved.length !== 2 || moved[1] !== last) return null;
  const axis = moved[0] as number;
  return perm[axis] === last && perm[last] === axis ? axis : null;
}
