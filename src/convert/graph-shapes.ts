import { OnnxType, type OnnxGraph, type OnnxNode, type OnnxTensor } from "./onnx-proto.js";
import { broadcastShape } from "./fold.js";

/**
 * The shape of each value of a converted graph whose inputs have fixed sizes, as far as the ops
 * MAXIM's graph uses tell it: what a rewrite checks before it changes how a tensor is laid out
 * or cut (a slice that reads all of an axis, a bias that adds no axis). A value whose shape this
 * cannot tell (an op it does not know, an input of unknown size) is absent, and so is
 * everything computed from it: a rewrite then leaves it as it is.
 */
export function graphShapes(graph: OnnxGraph): ReadonlyMap<string, readonly number[]> {
  const constants = new Map(graph.initializers.map((t) => [t.name, t]));
  const shapes = new Map<string, readonly number[]>();
  for (const input of graph.inputs) {
    if (input.dims?.every((d) => typeof d === "number")) shapes.set(input.name, input.dims as number[]);
  }
  for (const t of graph.initializers) shapes.set(t.name, t.dims);
  for (const node of graph.nodes) {
    const [output] = node.outputs;
    const inputs = node.inputs.map((i) => (i === "" ? undefined : shapes.get(i)));
    const shape = output === undefined ? null : outputShape(node, inputs, (name) => (name === undefined ? undefined : constants.get(name)));
    if (output !== undefined && shape) shapes.set(output, shape);
    // SkipLayerNormalization's fourth output, the sum, has its input's shape too.
    const sum = node.op === "SkipLayerNormalization" ? node.outputs[3] : undefined;
    if (sum && shape) shapes.set(sum, shape);
  }
  return shapes;
}

type Shape = readonly number[];

function outputShape(node: OnnxNode, inputs: readonly (Shape | undefined)[], constant: (name: string | undefined) => OnnxTensor | undefined): Shape | null {
  const [x, second] = inputs;
  const a = node.attributes ?? {};
  const ints = (name: string | undefined) => {
    const t = constant(name);
    return t && t.type === OnnxType.int64 ? Array.from(new BigInt64Array(t.data.slice().buffer), Number) : null;
  };
  switch (node.op) {
    case "Identity":
    case "Neg":
    case "Exp":
    case "Reciprocal":
    case "Sqrt":
    case "Tanh":
    case "Floor":
    case "Abs":
    case "Cast":
    case "Round":
    case "Clip":
    case "FastGelu":
    case "LayerNormalization":
    case "SkipLayerNormalization":
    case "InstanceNormalization":
    case "Relu":
    case "LeakyRelu":
    case "Sigmoid":
    case "Not":
      return x ?? null;
    case "Add":
    case "Sub":
    case "Mul":
    case "Div":
    case "Max":
    case "Min":
    case "Where":
    case "Equal":
    case "Greater":
    case "GreaterOrEqual":
    case "Less":
    case "LessOrEqual":
    case "And":
      return inputs.every((s) => s !== undefined) ? broadcastShape(inputs as Shape[]) : null;
    case "Transpose": {
      const perm = Array.isArray(a.perm) ? (a.perm as number[]) : x?.map((_, i) => x.length - 1 - i);
      return x && perm ? perm.map((p) => x[p] ?? 0) : null;
    }
    case "Reshape": {
      const target = ints(node.inputs[1]);
      if (!x || !target) return null;
      const known = target.reduce((p, d, i) => p * (d === -1 ? 1 : d === 0 && !a.allowzero ? (x[i] ?? 1) : d), 1);
      const total = x.reduce((p, d) => p * d, 1);
      return target.map((d, i) => (d === -1 ? total / known : d === 0 && !a.allowzero ? (x[i] ?? 0) : d));
    }
    case "MatMul": {
      if (!x || !second || x.length < 2 || second.length < 2) return null;
      const batch = broadcastShape([x.slice(0, -2), second.slice(0, -2)]);
      return batch ? [...batch, x.at(-2) as number, second.at(-1) as number] : null;
    }
    case "Gemm": {
      if (!x || !second) return null;
      return [(a.transA ? x[1] : x[0]) as number, (a.transB ? second[0] : second[1]) as number];
    }
    case "Concat": {
      if (!x || inputs.some((s) => s === undefined)) return null;
      const axis = normalized(Number(a.axis ?? 0), x.length);
      return x.map((d, i) => (i === axis ? (inputs as Shape[]).reduce((sum, s) => sum + (s[i] ?? 0), 0) : d));
    }
    case "Slice": {
      const [starts, ends] = [ints(node.inputs[1]), ints(node.inputs[2])];
      const axes = node.inputs[3] ? ints(node.inputs[3]) : starts?.map((_, i) => i);
      const steps = node.inputs[4] ? ints(node.inputs[4]) : starts?.map(() => 1);
      if (!x || !starts || !ends || !axes || !steps) return null;
      const out = [...x];
      for (let k = 0; k < axes.length; k++) {
        const axis = normalized(axes[k] as number, x.length);
        const size = x[axis] as number;
        const step = steps[k] as number;
        if (step !== 1) return null;
        const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
        out[axis] = Math.max(0, clamp(ends[k] as number) - clamp(starts[k] as number));
      }
      return out;
    }
    case "Conv":
    case "ConvTranspose":
      return x && second ? convShape(node.op === "ConvTranspose", x, second, a) : null;
    case "ReduceSum": {
      const axes = ints(node.inputs[1]);
      if (!x || !axes) return null;
      const reduced = new Set(axes.map((v) => normalized(v, x.length)));
      return a.keepdims === 0 ? x.filter((_, i) => !reduced.has(i)) : x.map((d, i) => (reduced.has(i) ? 1 : d));
    }
    case "Expand": {
      const target = ints(node.inputs[1]);
      return x && target ? broadcastShape([x, target]) : null;
    }
    case "Gather": {
      if (!x || !second) return null;
      const axis = normalized(Number(a.axis ?? 0), x.length);
      return [...x.slice(0, axis), ...second, ...x.slice(axis + 1)];
    }
    case "Unsqueeze": {
      const axes = ints(node.inputs[1]);
      if (!x || !axes) return null;
      const rank = x.length + axes.length;
      const added = new Set(axes.map((v) => normalized(v, rank)));
      const rest = [...x];
      return Array.from({ length: rank }, (_, i) => (added.has(i) ? 1 : (rest.shift() as number)));
    }
    case "Squeeze": {
      const axes = ints(node.inputs[1]);
      if (!x || !axes) return null;
      const removed = new Set(axes.map((v) => normalized(v, x.length)));
      return x.filter((_, i) => !removed.has(i));
    }
    default:
      return null;
  }
}

function normalized(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** NCHW Conv and ConvTranspose as the converter writes them (auto_pad SAME_UPPER or VALID, or pads; no output_shape). */
function convShape(transposed: boolean, x: Shape, w: Shape, a: Readonly<Record<string, unknown>>): Shape | null {
  if (x.length !== 4 || w.length !== 4) return null;
  const strides = (a.strides as number[] | undefined) ?? [1, 1];
  const dilations = (a.dilations as number[] | undefined) ?? [1, 1];
  const pads = (a.pads as number[] | undefined) ?? [0, 0, 0, 0];
  const autoPad = (a.auto_pad as string | undefined) ?? "NOTSET";
  const [n = 0, , h = 0, wd = 0] = x;
  const group = Number(a.group ?? 1);
  const spatial = [h, wd].map((size, i) => {
    const stride = strides[i] ?? 1;
    const kernel = ((w[2 + i] ?? 1) - 1) * (dilations[i] ?? 1) + 1;
    if (transposed) return (size - 1) * stride + kernel - (pads[i] ?? 0) - (pads[i + 2] ?? 0);
    if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") return Math.ceil(size / stride);
    return Math.floor((size + (pads[i] ?? 0) + (pads[i + 2] ?? 0) - kernel) / stride) + 1;
  });
  if (transposed && autoPad !== "NOTSET" && autoPad !== "VALID") return null;
  const channels = transposed ? (w[1] ?? 0) * group : (w[0] ?? 0);
  return [n, channels, ...spatial];
}
