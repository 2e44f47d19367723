import { AddedInitializers, indexGraph, withReplacements } from "./graph-index.js";
import { OnnxType, type OnnxGraph, type OnnxNode } from "./onnx-proto.js";

/**
 * A 1x1 convolution of an NHWC tensor, as the converter writes TensorFlow's Conv2D:
 *
 *   y = Transpose_nhwc(Conv(Transpose_nchw(x), Transpose(W)))        W: (1, 1, in, out)
 *
 * is a dense layer over the channel axis, the last one in NHWC:
 *
 *   y = x @ W                                                          W as (in, out)
 *
 * onnxruntime ran each as a full-size Transpose in, a reorder into its blocked layout
 * (ReorderInput), the convolution, and a reorder back out: two or three passes over memory for
 * one product. MAXIM has 230 of its 325 convolutions 1x1, in every stage and block. Strided,
 * dilated, grouped or padded ones, and anything else that strays from the pattern, are left
 * as they are.
 */
export function fusePointwiseConvs(graph: OnnxGraph): OnnxGraph {
  const { constants, made } = indexGraph(graph);
  const replaced = new Map<OnnxNode, OnnxNode>();
  const added = new AddedInitializers();
  for (const last of graph.nodes) {
    const match = last.op === "Transpose" && samePerm(last.attributes?.perm, [0, 2, 3, 1]) ? matchPointwise(last) : null;
    if (!match) continue;
    const matrix = added.once(`${match.kernel}__matrix`, () => {
      const kernel = constants.get(match.kernel);
      if (!kernel) throw new Error(`${match.kernel}: matched as a constant but not one`);
      // (1, 1, in, out) holds its values in the order of (in, out).
      return { ...kernel, dims: kernel.dims.slice(2) };
    });
    replaced.set(last, { op: "MatMul", inputs: [match.x, matrix.name], outputs: last.outputs });
  }
  return withReplacements(graph, replaced, added);

  function matchPointwise(last: OnnxNode) {
    const conv = made(last.inputs[0], "Conv");
    if (!conv || conv.inputs.length !== 2 || !unitConv(conv)) return null;
    const toNchw = made(conv.inputs[0], "Transpose");
    const filter = made(conv.inputs[1], "Transpose");
    if (!toNchw || !samePerm(toNchw.attributes?.perm, [0, 3, 1, 2]) || !filter || !samePerm(filter.attributes?.perm, [3, 2, 0, 1])) return null;
    const kernel = filter.inputs[0] === undefined ? undefined : constants.get(filter.inputs[0]);
    const x = toNchw.inputs[0];
    if (!kernel || kernel.type !== OnnxType.float || kernel.dims.length !== 4 || kernel.dims[0] !== 1 || kernel.dims[1] !== 1 || x === undefined) return null;
    return { x, kernel: kernel.name };
  }
}

/** A Conv whose 1x1 kernel reads each pixel once: stride 1, no dilation, group or padding. */
export function unitConv(conv: OnnxNode): boolean {
  const a = conv.attributes ?? {};
  const ones = (v: unknown) => v === undefined || (Array.isArray(v) && v.every((x) => x === 1));
  const zeros = (v: unknown) => v === undefined || (Array.isArray(v) && v.every((x) => x === 0));
  return ones(a.strides) && ones(a.dilations) && zeros(a.pads) && (a.group === undefined || a.group === 1);
}

function samePerm(perm: unknown, expected: readonly number[]): boolean {
  return Array.isArray(perm) && perm.length === expected.length && perm.every((p, i) => p === expected[i]);
}
