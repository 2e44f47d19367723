import { AddedInitializers, indexGraph, withReplacements } from "./graph-index.js";
import { graphShapes } from "./graph-shapes.js";
import { OnnxType, type OnnxGraph, type OnnxNode } from "./onnx-proto.js";

/**
 * A residual sum that a layer norm reads, as MAXIM's blocks end (x + Dense(y), then the next
 * block's LayerNorm):
 *
 *   s = (p + b) + r          n = LayerNormalization(s)          p: a product, b: its bias (n)
 *
 * becomes onnxruntime's SkipLayerNormalization (com.microsoft), which adds p, r and b in the
 * pass that normalizes and writes the sum as a second output for whatever else reads it (the
 * next residual): the bias Add and the residual Add, each a pass over the tensor, go. The
 * kernel takes rank 3, so the tensors are reshaped to (1, pixels, channels) around it, which
 * onnxruntime does without copying. Sums whose two sides differ in shape (a broadcast), norms
 * over another axis, and anything else that strays from the pattern are left as they are.
 */
export function fuseSkipLayerNorms(graph: OnnxGraph): OnnxGraph {
  const { made, onlyConsumer, split, consumers } = indexGraph(graph);
  const shapes = graphShapes(graph);
  const replaced = new Map<OnnxNode, OnnxNode | readonly OnnxNode[]>();
  const added = new AddedInitializers();
  const int64s = (values: readonly number[]) => added.int64s("skip_layer_norm_shape", values);
  for (const norm of graph.nodes) {
    if (norm.op !== "LayerNormalization" || (norm.attributes?.axis !== -1 && norm.attributes?.axis !== undefined)) continue;
    const sum = made(norm.inputs[0], "Add");
    const shape = sum ? shapes.get(sum.outputs[0] ?? "") : undefined;
    if (!sum || !shape || replaced.has(sum) || sum.inputs.some((i) => shapes.get(i)?.join() !== shape.join())) continue;
    const [left, right] = sum.inputs as [string, string];
    // The bias of one side, when that side is only a product plus its bias.
    const biased = made(left, "Add") ?? made(right, "Add");
    const bias = biased && onlyConsumer(biased, "Add") === sum ? split(biased) : null;
    const useBias = bias && bias.constant.dims.length === 1 && bias.constant.dims[0] === shape.at(-1) && bias.constant.type === OnnxType.float;
    const input = useBias ? bias.value : left;
    const skip = useBias ? (biased?.outputs[0] === left ? right : left) : right;
    if (useBias && shapes.get(bias.value)?.join() !== shape.join()) continue;
    const [gamma, beta] = norm.inputs.slice(1);
    const channels = shape.at(-1) as number;
    const flat = int64s([1, shape.slice(0, -1).reduce((a, d) => a * d, 1), channels]);
    const back = int64s(shape);
    const [normOut] = norm.outputs as [string];
    const [sumOut] = sum.outputs as [string];
    const sumReadElsewhere = consumers(sum).some((c) => c !== norm) || graph.outputs.some((o) => o.name === sumOut);
    const nodes: OnnxNode[] = [
      { op: "Reshape", inputs: [input, flat], outputs: [`${normOut}__skip_input`] },
      { op: "Reshape", inputs: [skip, flat], outputs: [`${normOut}__skip`] },
      {
        op: "SkipLayerNormalization",
        domain: "com.microsoft",
        inputs: [`${normOut}__skip_input`, `${normOut}__skip`, gamma ?? "", beta ?? "", ...(useBias ? [bias.constant.name] : [])],
        outputs: [`${normOut}__normalized`, ...(sumReadElsewhere ? ["", "", `${sumOut}__sum`] : [])],
        attributes: { epsilon: norm.attributes?.epsilon ?? { float: 1e-5 } },
      },
      { op: "Reshape", inputs: [`${normOut}__normalized`, back], outputs: [normOut] },
      ...(sumReadElsewhere ? [{ op: "Reshape", inputs: [`${sumOut}__sum`, back], outputs: [sumOut] }] : []),
    ];
    // In the sum's place: everything it reads is ready there, and whatever reads the sum comes after.
    replaced.set(sum, nodes);
    replaced.set(norm, []);
  }
  return withReplacements(graph, replaced, added);
}
