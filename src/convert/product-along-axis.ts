import { AddedInitializers, indexGraph, withReplacements } from "./graph-index.js";
import { graphShapes } from "./graph-shapes.js";
import { OnnxType, type OnnxGraph, type OnnxNode, type OnnxTensor } from "./onnx-proto.js";

/**
 * A product of one axis of a tensor with a constant matrix, written as the einsum translation
 * and jax2tf write it: the axis moved last, the product, the axes moved back:
 *
 *   y = Transpose_q(Transpose_p(x) @ R)          R: (s, t), x's axis k of size s
 *
 * where the two transposes, together, put every axis back where it was (axes of size 1 aside:
 * they can sit anywhere in the same bytes). Then no axis needs to move at all: with x read as
 * (a, s, b), a the axes before k and b those after,
 *
 *   y = Reshape(Rᵀ @ Reshape(x, (a, s, b)))                 (MatMul broadcasts Rᵀ over a)
 *
 * MAXIM's bilinear resizes (jax.image.resize as an einsum per spatial axis, 36 of them) were
 * each four full transposes of the resized tensor. Anything else is left as it is.
 */
export function productsAlongAxis(graph: OnnxGraph): OnnxGraph {
  const { constants, made, consumers } = indexGraph(graph);
  const shapes = graphShapes(graph);
  const replaced = new Map<OnnxNode, OnnxNode[]>();
  const added = new AddedInitializers();
  const int64s = (values: readonly number[]) => added.int64s("axis_product_shape", values);
  for (const back of graph.nodes) {
    const match = back.op === "Transpose" ? matchProduct(back) : null;
    if (!match) continue;
    const { x, shape, axis, matrix, out } = match;
    const before = shape.slice(0, axis).reduce((p, d) => p * d, 1);
    const after = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
    const [y] = back.outputs as [string];
    const transposed = added.once(`${matrix.name}__transposed`, () => transposedMatrix(matrix));
    const viewed = before === 1 ? [shape[axis] as number, after] : [before, shape[axis] as number, after];
    replaced.set(back, [
      { op: "Reshape", inputs: [x, int64s(viewed)], outputs: [`${y}__viewed`] },
      { op: "MatMul", inputs: [transposed.name, `${y}__viewed`], outputs: [`${y}__product`] },
      { op: "Reshape", inputs: [`${y}__product`, int64s(out)], outputs: [y] },
    ]);
  }
  return withReplacements(graph, replaced, added);

  function matchProduct(back: OnnxNode) {
    const product = made(back.inputs[0], "MatMul");
    const front = made(product?.inputs[0], "Transpose");
    const matrix = product?.inputs[1] === undefined ? undefined : constants.get(product.inputs[1]);
    const x = front?.inputs[0];
    const shape = x === undefined ? undefined : shapes.get(x);
    const out = shapes.get(back.outputs[0] ?? "");
    if (!product || !front || !matrix || matrix.type !== OnnxType.float || matrix.dims.length !== 2 || !shape || !out || x === undefined) return null;
    if (consumers(front).length !== 1 || consumers(product).length !== 1) return null;
    const [p, q] = [front.attributes?.perm, back.attributes?.perm];
    if (!Array.isArray(p) || !Array.isArray(q) || p.length !== shape.length || q.length !== shape.length) return null;
    const axis = p[p.length - 1] as number;
    // Where each of the output's axes came from in x (the product's new axis stands in x's axis k).
    const order = (q as number[]).map((i) => p[i] as number);
    const kept = order.filter((a) => a === axis || shape[a] !== 1);
    if (kept.some((a, i) => i > 0 && a < (kept[i - 1] as number))) return null;
    return { x, shape, axis, matrix, out };
  }
}

/** A float (s, t) matrix as (t, s). */
function transposedMatrix(matrix: OnnxTensor): Omit<OnnxTensor, "name"> {
  const [s, t] = matrix.dims as [number, number];
  const values = new Float32Array(matrix.data.slice().buffer);
  const out = new Float32Array(values.length);
  for (let i = 0; i < s; i++) for (let j = 0; j < t; j++) out[j * s + i] = values[i * t + j] as number;
  return { type: OnnxType.float, dims: [t, s], data: new Uint8Array(out.buffer) };
}
