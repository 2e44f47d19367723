import { unitConv } from "./fuse-pointwise-conv.js";
import { AddedInitializers, indexGraph, withReplacements } from "./graph-index.js";
import { graphShapes } from "./graph-shapes.js";
import { OnnxType, type OnnxGraph, type OnnxNode } from "./onnx-proto.js";

/**
 * A 1x1 convolution of one image (batch 1) in NCHW, as fuse-swapped-dense.ts writes a dense
 * layer across axis 1 (MAXIM's grid gating units: the 256 cells of its 16x16 grid as channels):
 *
 *   y = Conv(x, W, b)          x: (1, d, h, w), W: (n, d, 1, 1), b: (n)
 *
 * is one matrix product on the same bytes, read as (d, h·w):
 *
 *   y = Reshape(Gemm(W as (n, d), Reshape(x, (d, h·w)), b as (n, 1)), (1, n, h, w))
 *
 * onnxruntime ran the convolution in its blocked layout, with a reorder of the whole tensor in
 * and another out; the reshapes cost nothing, and Gemm adds the bias as it writes. Convolutions
 * that are not 1x1 (or stride, pad, group), or of a batch above 1, are left as they are.
 */
export function pointwiseConvsAsGemm(graph: OnnxGraph): OnnxGraph {
  const { constants } = indexGraph(graph);
  const shapes = graphShapes(graph);
  const replaced = new Map<OnnxNode, OnnxNode[]>();
  const added = new AddedInitializers();
  const int64s = (values: readonly number[]) => added.int64s("grid_gemm_shape", values);
  for (const conv of graph.nodes) {
    if (conv.op !== "Conv" || !unitConv(conv)) continue;
    const [x, w, b] = conv.inputs;
    const kernel = w === undefined ? undefined : constants.get(w);
    const bias = b === undefined ? undefined : constants.get(b);
    const shape = x === undefined ? undefined : shapes.get(x);
    const out = shapes.get(conv.outputs[0] ?? "");
    if (x === undefined || !kernel || kernel.type !== OnnxType.float || kernel.dims.length !== 4 || kernel.dims[2] !== 1 || kernel.dims[3] !== 1) continue;
    if (!shape || shape.length !== 4 || shape[0] !== 1 || !out || (b !== undefined && (!bias || bias.type !== OnnxType.float))) continue;
    const [n, d] = kernel.dims as [number, number];
    const pixels = shape.slice(2).reduce((a, v) => a * v, 1);
    const matrix = added.once(`${kernel.name}__gemm`, () => ({ ...kernel, dims: [n, d] }));
    const column = bias && added.once(`${bias.name}__column`, () => ({ ...bias, dims: [n, 1] }));
    const [y] = conv.outputs as [string];
    replaced.set(conv, [
      { op: "Reshape", inputs: [x, int64s([d, pixels])], outputs: [`${y}__as_matrix`] },
      { op: "Gemm", inputs: [matrix.name, `${y}__as_matrix`, ...(column ? [column.name] : [])], outputs: [`${y}__product`] },
      { op: "Reshape", inputs: [`${y}__product`, int64s(out)], outputs: [y] },
    ]);
  }
  return withReplacements(graph, replaced, added);
}
