import { AddedInitializers, indexGraph, withReplacements } from "./graph-index.js";
import { OnnxType, type OnnxGraph, type OnnxNode } from "./onnx-proto.js";

/**
 * A convolution's bias, as TensorFlow adds it (after the convolution, on the NHWC tensor the
 * converter transposes back to):
 *
 *   y = Transpose_nhwc(Conv(x, W)) + b             b: (C) or (1, 1, 1, C)
 *
 * becomes the convolution's own bias input, which onnxruntime adds in the convolution's last
 * pass over its output instead of one more pass over the whole tensor:
 *
 *   y = Transpose_nhwc(Conv(x, W, b))
 *
 * The same for ConvTranspose. Anything that strays from the pattern (a bias on another axis, a
 * convolution or transpose read by anything else) is left as it is.
 */
export function fuseConvBiases(graph: OnnxGraph): OnnxGraph {
  const { constants, made, onlyConsumer, split } = indexGraph(graph);
  const replaced = new Map<OnnxNode, OnnxNode>();
  const added = new AddedInitializers();
  for (const conv of graph.nodes) {
    if ((conv.op !== "Conv" && conv.op !== "ConvTranspose") || conv.inputs.length !== 2) continue;
    const toNhwc = onlyConsumer(conv, "Transpose");
    const perm = toNhwc?.attributes?.perm;
    if (!toNhwc || !Array.isArray(perm) || perm.join() !== "0,2,3,1") continue;
    const add = onlyConsumer(toNhwc, "Add");
    const bias = add && split(add);
    if (!add || !bias || bias.value !== toNhwc.outputs[0] || bias.constant.type !== OnnxType.float) continue;
    const dims = bias.constant.dims;
    const channels = dims.at(-1);
    if (channels === undefined || channels !== outputChannels(conv) || dims.length > 4 || dims.slice(0, -1).some((d) => d !== 1)) continue;
    const flat = added.once(`${bias.constant.name}__conv_bias`, () => ({ ...bias.constant, dims: [channels] }));
    replaced.set(conv, { ...conv, inputs: [...conv.inputs, flat.name] });
    replaced.set(add, { ...toNhwc, outputs: add.outputs });
  }
  return withReplacements(graph, replaced, added);

  /** A convolution's output channels, from its filter: ONNX's (out, in, kh, kw), or (in, out, kh, kw) for ConvTranspose. */
  function outputChannels(conv: OnnxNode): number | undefined {
    const name = conv.inputs[1];
    const filter = name === undefined ? undefined : (constants.get(name) ?? transposedConstant(name));
    return filter?.dims[conv.op === "ConvTranspose" ? 1 : 0];
  }

  /** The dims a constant has after the Transpose that makes `name` (the converter's filters from TensorFlow's layout). */
  function transposedConstant(name: string): { dims: number[] } | undefined {
    const transpose = made(name, "Transpose");
    const source = transpose?.inputs[0] === undefined ? undefined : constants.get(transpose.inputs[0]);
    const perm = transpose?.attributes?.perm;
    if (!source || !Array.isArray(perm)) return undefined;
    return { dims: perm.map((axis: number) => source.dims[axis] ?? 0) };
  }
}
