import { graphShapes } from "./graph-shapes.js";
import { AddedInitializers, indexGraph, withReplacements } from "./graph-index.js";
import { OnnxType, type OnnxGraph, type OnnxNode, type OnnxTensor } from "./onnx-proto.js";

/** Per-element ops between a dense layer and the slices of its output that can run on each slice alone. */
const PER_ELEMENT = new Set(["FastGelu"]);

/**
 * A dense layer whose output is only ever read in slices along its last axis, as MAXIM's gMLP
 * blocks split theirs in two (jnp.split after Dense and GELU):
 *
 *   u = Slice(f(x @ W + b), [0, n)),  v = Slice(f(x @ W + b), [n, 2n))        f: FastGelu, or none
 *
 * becomes one dense layer per slice, on that slice's columns of W and b:
 *
 *   u = f(x @ W[:, :n] + b[:n]),  v = f(x @ W[:, n:] + b[n:])
 *
 * The products cost the same; what goes is the slices, each a copy of half the tensor. MAXIM
 * has 186 such splits. Slices that cut another axis, step, or overlap, and a layer read by
 * anything but slices, are left as they are.
 */
export function splitDenseOutputs(graph: OnnxGraph): OnnxGraph {
  const { constants, onlyConsumer, split, consumers } = indexGraph(graph);
  const shapes = graphShapes(graph);
  const replaced = new Map<OnnxNode, OnnxNode[]>();
  const added = new AddedInitializers();
  for (const matmul of graph.nodes) {
    const match = matmul.op === "MatMul" ? matchSplitDense(matmul) : null;
    if (!match) continue;
    for (const { slice, from, to } of match.slices) {
      const [output] = slice.outputs as [string];
      const weight = added.once(`${match.weight.name}__columns_${from}_${to}`, () => columns(match.weight, from, to));
      const nodes: OnnxNode[] = [{ op: "MatMul", inputs: [match.x, weight.name], outputs: [`${output}__product`] }];
      let last = `${output}__product`;
      if (match.bias) {
        const bias = added.once(`${match.bias.name}__columns_${from}_${to}`, () => columns(match.bias as OnnxTensor, from, to));
        nodes.push({ op: "Add", inputs: [last, bias.name], outputs: [(last = `${output}__biased`)] });
      }
      if (match.perElement) nodes.push({ ...match.perElement, inputs: [last, ...match.perElement.inputs.slice(1)], outputs: [(last = `${output}__activated`)] });
      nodes[nodes.length - 1] = { ...(nodes.at(-1) as OnnxNode), outputs: [output] };
      replaced.set(slice, nodes);
    }
  }
  return withReplacements(graph, replaced, added);

  function matchSplitDense(matmul: OnnxNode) {
    const [x, w] = matmul.inputs;
    const weight = w === undefined ? undefined : constants.get(w);
    if (x === undefined || !weight || weight.type !== OnnxType.float || weight.dims.length !== 2) return null;
    const n = weight.dims[1] as number;
    let last = matmul;
    const add = onlyConsumer(last, "Add");
    const biasPart = add && split(add);
    const bias = biasPart && biasPart.value === last.outputs[0] && biasPart.constant.dims.length === 1 && biasPart.constant.dims[0] === n ? biasPart.constant : null;
    if (add && bias) last = add;
    const next = consumers(last);
    const perElement = next.length === 1 && next[0] && PER_ELEMENT.has(next[0].op) && next[0].inputs.length === 1 ? next[0] : null;
    if (perElement) last = perElement;
    const [sliced] = last.outputs;
    const shape = sliced === undefined ? undefined : shapes.get(sliced);
    const readers = consumers(last);
    if (!shape || readers.length < 2) return null;
    const slices = readers.map((slice) => (slice.op === "Slice" ? lastAxisRange(slice, shape) : null));
    if (slices.some((s) => s === null)) return null;
    return { x, weight, bias, perElement, slices: slices as { slice: OnnxNode; from: number; to: number }[] };
  }

  /** The columns [from, to) a Slice keeps of the last axis of a tensor of `shape`, keeping all of the others; else null. */
  function lastAxisRange(slice: OnnxNode, shape: readonly number[]) {
    const out = shapes.get(slice.outputs[0] ?? "");
    const ints = (k: number) => {
      const t = constants.get(slice.inputs[k] ?? "");
      return t && t.type === OnnxType.int64 ? Array.from(new BigInt64Array(t.data.slice().buffer), Number) : null;
    };
    const [starts, axes, steps] = [ints(1), slice.inputs[3] ? ints(3) : null, slice.inputs[4] ? ints(4) : null];
    if (!out || !starts || out.length !== shape.length || steps?.some((s) => s !== 1)) return null;
    const rank = shape.length;
    const axisList = axes ?? starts.map((_, i) => i);
    let from = 0;
    for (let k = 0; k < axisList.length; k++) {
      const axis = (axisList[k] as number) < 0 ? (axisList[k] as number) + rank : (axisList[k] as number);
      const start = starts[k] as number;
      if (axis === rank - 1) from = start < 0 ? start + (shape[axis] as number) : start;
      else if (start !== 0) return null;
    }
    if (out.some((d, i) => i < rank - 1 && d !== shape[i])) return null;
    return { slice, from, to: from + (out[rank - 1] as number) };
  }
}

/** Columns [from, to) of a float (k, n) matrix or an (n) vector. */
function columns(tensor: OnnxTensor, from: number, to: number): Omit<OnnxTensor, "name"> {
  const values = new Float32Array(tensor.data.slice().buffer);
  const n = tensor.dims.at(-1) as number;
  const rows = values.length / n;
  const out = new Float32Array(rows * (to - from));
  for (let r = 0; r < rows; r++) out.set(values.subarray(r * n + from, r * n + to), r * (to - from));
  return { type: OnnxType.float, dims: tensor.dims.length === 1 ? [to - from] : [rows, to - from], data: new Uint8Array(out.buffer) };
}
