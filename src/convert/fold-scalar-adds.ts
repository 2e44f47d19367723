import { AddedInitializers, floatScalar, indexGraph, withReplacements } from "./graph-index.js";
import { OnnxType, type OnnxGraph, type OnnxNode, type OnnxTensor } from "./onnx-proto.js";

/**
 * A constant added to what already ends in a constant bias, as MAXIM's gating units write
 * u * (v + 1) after the dense layer that makes v:
 *
 *   Add(Add(p, b), c)  ->  Add(p, b + c)          Add(Conv(x, W, b), c)  ->  Conv(x, W, b + c)
 *
 * One pass over the tensor fewer each (96 in MAXIM). Only a scalar c, and only where nothing
 * else reads the biased value.
 */
export function foldScalarAdds(graph: OnnxGraph): OnnxGraph {
  const { made, onlyConsumer, split } = indexGraph(graph);
  const replaced = new Map<OnnxNode, OnnxNode | readonly OnnxNode[]>();
  const added = new AddedInitializers();
  for (const outer of graph.nodes) {
    if (outer.op !== "Add") continue;
    const shift = split(outer);
    const c = shift && floatScalar(shift.constant);
    if (!shift || c === null) continue;
    const inner = made(shift.value, "Add") ?? made(shift.value, "Conv");
    if (!inner || onlyConsumer(inner, outer.op) !== outer) continue;
    if (inner.op === "Add") {
      const bias = split(inner);
      if (!bias || bias.constant.type !== OnnxType.float) continue;
      const shifted = added.once(`${bias.constant.name}__plus_${c}`, () => plus(bias.constant, c));
      replaced.set(inner, { ...inner, inputs: [bias.value, shifted.name], outputs: outer.outputs });
    } else {
      const [x, w, b] = inner.inputs;
      const bias = b === undefined ? undefined : graph.initializers.find((t) => t.name === b);
      if (!bias || bias.type !== OnnxType.float || x === undefined || w === undefined) continue;
      const shifted = added.once(`${bias.name}__plus_${c}`, () => plus(bias, c));
      replaced.set(inner, { ...inner, inputs: [x, w, shifted.name], outputs: outer.outputs });
    }
    replaced.set(outer, []);
  }
  return withReplacements(graph, replaced, added);
}

function plus(tensor: OnnxTensor, c: number): Omit<OnnxTensor, "name"> {
  const values = Float32Array.from(new Float32Array(tensor.data.slice().buffer), (v) => v + c);
  return { type: OnnxType.float, dims: tensor.dims, data: new Uint8Array(values.buffer) };
}
