import { AddedInitializers, indexGraph, withReplacements } from "./graph-index.js";
import { graphShapes } from "./graph-shapes.js";
import { OnnxType, type OnnxGraph, type OnnxNode, type OnnxTensor } from "./onnx-proto.js";

/**
 * A dense layer over a concatenation along the channels, as MAXIM joins its grid and block
 * branches (jnp.concatenate([u, v], -1), then Dense):
 *
 *   y = Concat(u, v) @ W
 *
 * is the sum of each part's product with its rows of W, accumulated by Gemm into one output:
 *
 *   y = Reshape(Gemm(v, W[c:], Gemm(u, W[:c])))          u, v read as (pixels, channels)
 *
 * The Concat, a copy of both parts, goes; the second Gemm adds into the first's output as it
 * writes (onnxruntime lets Gemm's output take its C input's buffer), and a bias (n) added after
 * the layer goes into the first Gemm. Concatenations along another axis, or read by anything
 * else, are left as they are.
 */
export function splitConcatDenses(graph: OnnxGraph): OnnxGraph {
  const { constants, made, onlyConsumer, split, consumers } = indexGraph(graph);
  const shapes = graphShapes(graph);
  const replaced = new Map<OnnxNode, OnnxNode[]>();
  const added = new AddedInitializers();
  const int64s = (values: readonly number[]) => added.int64s("concat_gemm_shape", values);
  for (const matmul of graph.nodes) {
    if (matmul.op !== "MatMul") continue;
    const concat = made(matmul.inputs[0], "Concat");
    const weight = matmul.inputs[1] === undefined ? undefined : constants.get(matmul.inputs[1]);
    const out = shapes.get(matmul.outputs[0] ?? "");
    if (!concat || !weight || weight.type !== OnnxType.float || weight.dims.length !== 2 || !out || consumers(concat).length !== 1) continue;
    const parts = concat.inputs.map((p) => ({ name: p, shape: shapes.get(p) }));
    const rank = out.length;
    const axis = Number(concat.attributes?.axis ?? 0);
    if ((axis !== -1 && axis !== rank - 1) || parts.some((p) => !p.shape || p.shape.length !== rank)) continue;
    const pixels = out.slice(0, -1).reduce((a, d) => a * d, 1);
    // A bias added after the layer, (n): the first Gemm's C, and the layer's output is the sum's.
    const add = onlyConsumer(matmul, "Add");
    const bias = add && split(add);
    const withBias = bias && bias.value === matmul.outputs[0] && bias.constant.dims.length === 1 && bias.constant.dims[0] === weight.dims[1] ? bias.constant : null;
    const [y] = ((withBias && add ? add : matmul).outputs as [string]);
    const nodes: OnnxNode[] = [];
    let row = 0;
    let sum: string | null = null;
    for (const [k, part] of parts.entries()) {
      const channels = part.shape?.at(-1) as number;
      const rows = added.once(`${weight.name}__rows_${row}_${row + channels}`, () => rowsOf(weight, row, row + channels));
      const matrix = `${y}__part${k}`;
      const product = `${y}__sum${k}`;
      nodes.push({ op: "Reshape", inputs: [part.name, int64s([pixels, channels])], outputs: [matrix] });
      const c = sum ?? withBias?.name;
      nodes.push({ op: "Gemm", inputs: [matrix, rows.name, ...(c ? [c] : [])], outputs: [product] });
      sum = product;
      row += channels;
    }
    if (row !== weight.dims[0] || sum === null) continue;
    nodes.push({ op: "Reshape", inputs: [sum, int64s(out)], outputs: [y] });
    replaced.set(matmul, nodes);
    if (withBias && add) replaced.set(add, []);
  }
  return withReplacements(graph, replaced, added);
}

/** Rows [from, to) of a float (k, n) matrix. */
function rowsOf(tensor: OnnxTensor, from: number, to: number): Omit<OnnxTensor, "name"> {
  const n = tensor.dims[1] as number;
  return { type: OnnxType.float, dims: [to - from, n], data: tensor.data.slice(from * n * 4, to * n * 4) };
}
