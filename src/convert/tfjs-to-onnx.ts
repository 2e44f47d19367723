import { emitEinsum } from "./einsum.js";
import { canFold, fold, type Folded } from "./fold.js";
import { GraphBuilder, INT64_MAX, INT64_MIN } from "./onnx-builder.js";
import { OnnxType, type OnnxGraph, type OnnxTensor, type OnnxValue } from "./onnx-proto.js";
import { tensorName, tfDtype, type TfConstant, type TfDtype, type TfGraph, type TfNode } from "./tfjs-graph.js";

/**
 * ONNX opset of the converted graphs: 13 gives Unsqueeze/Squeeze/ReduceSum their axes as
 * inputs (shape-polymorphic graphs compute them), 14 Reshape's allowzero.
 */
export const OPSET = 17;

/**
 * TensorFlow's int32 (shapes, indices) becomes ONNX int64 throughout: ONNX takes shapes,
 * axes and indices as int64, and a graph's int32 arithmetic never needs the wrap-around.
 */
const ONNX_TYPE: Readonly<Record<TfDtype, OnnxType>> = { float32: OnnxType.float, int32: OnnxType.int64, bool: OnnxType.bool };

/** What an op's translation reads and writes. */
interface Context {
  readonly b: GraphBuilder;
  readonly node: TfNode;
  /** The ONNX name of input k. */
  input(k: number): string;
  /** Input k's values, which must be a constant of the graph (an axis, a permutation, slice bounds). */
  constant(k: number): readonly number[];
  isConstant(k: number): boolean;
  int(attr: string): number;
  ints(attr: string): readonly number[];
  string(attr: string): string;
  dtype(attr: string): TfDtype;
  /** The node's output name, for the last ONNX node of its translation. */
  readonly output: string;
}

type Translation = (c: Context) => void;

const same =
  (op: string): Translation =>
  (c) =>
    c.b.add(op, c.node.inputs.map((_, k) => c.input(k)), {}, c.output);

/** TensorFlow's NHWC around ONNX's NCHW: every convolution transposes in and out. */
const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];
/** A TensorFlow filter (kh, kw, in, out) as ONNX's (out, in, kh, kw); for Conv2DBackpropInput (kh, kw, out, in) -> (in, out, kh, kw). */
const FILTER_TO_ONNX = [3, 2, 0, 1];

function spatial(list: readonly number[], c: Context, attr: string): number[] {
  if (c.string("data_format") !== "NHWC") throw new Error(`${c.node.name}: ${c.node.op} with data_format ${c.string("data_format")} is not supported (NHWC is)`);
  const [, h, w] = list;
  if (h === undefined || w === undefined) throw new Error(`${c.node.name}: ${attr} should list 4 values`);
  return [h, w];
}

function convPadding(c: Context): Record<string, string | number[]> {
  const padding = c.string("padding");
  if (padding === "SAME") return { auto_pad: "SAME_UPPER" }; // TensorFlow's SAME puts the odd pixel after, as SAME_UPPER does
  if (padding === "VALID") return { auto_pad: "VALID" };
  if (padding === "EXPLICIT") {
    const [, , , , top = 0, bottom = 0, left = 0, right = 0] = c.ints("explicit_paddings");
    return { pads: [top, left, bottom, right] };
  }
  throw new Error(`${c.node.name}: padding ${padding} is not supported`);
}

const TRANSLATIONS: Readonly<Record<string, Translation>> = {
  Identity: same("Identity"),
  AddV2: same("Add"),
  Sub: same("Sub"),
  Mul: same("Mul"),
  RealDiv: same("Div"),
  Maximum: same("Max"),
  Minimum: same("Min"),
  Neg: same("Neg"),
  Abs: same("Abs"),
  Exp: same("Exp"),
  Tanh: same("Tanh"),
  Floor: same("Floor"),
  Sign: same("Sign"),
  Reciprocal: same("Reciprocal"),
  Greater: same("Greater"),
  GreaterEqual: same("GreaterOrEqual"),
  Less: same("Less"),
  LessEqual: same("LessOrEqual"),
  LogicalAnd: same("And"),
  SelectV2: same("Where"),
  BroadcastTo: same("Expand"),
  Range: same("Range"),
  Shape: same("Shape"),
  Square: (c) => c.b.add("Mul", [c.input(0), c.input(0)], {}, c.output),
  Rsqrt: (c) => c.b.add("Reciprocal", [c.b.add("Sqrt", [c.input(0)])], {}, c.output),
  NotEqual: (c) => c.b.add("Not", [c.b.add("Equal", [c.input(0), c.input(1)])], {}, c.output),
  // TensorFlow rounds the quotient down and gives the remainder the divisor's sign.
  FloorDiv: (c) => {
    const [a, d] = [c.input(0), c.input(1)];
    if (c.dtype("T") === "float32") c.b.add("Floor", [c.b.add("Div", [a, d])], {}, c.output);
    else c.b.add("Div", [c.b.add("Sub", [a, c.b.add("Mod", [a, d], { fmod: 0 })]), d], {}, c.output);
  },
  FloorMod: (c) => {
    const [a, d] = [c.input(0), c.input(1)];
    if (c.dtype("T") !== "float32") c.b.add("Mod", [a, d], { fmod: 0 }, c.output);
    else c.b.add("Sub", [a, c.b.add("Mul", [c.b.add("Floor", [c.b.add("Div", [a, d])]), d])], {}, c.output);
  },
  Cast: (c) => c.b.add("Cast", [c.input(0)], { to: ONNX_TYPE[c.dtype("DstT")] }, c.output),
  // TensorFlow's 0 in a shape is an empty axis, ONNX's (without allowzero) "as the input".
  Reshape: (c) => c.b.add("Reshape", [c.input(0), c.input(1)], { allowzero: 1 }, c.output),
  Transpose: (c) => c.b.add("Transpose", [c.input(0)], { perm: [...c.constant(1)] }, c.output),
  ExpandDims: (c) => c.b.add("Unsqueeze", [c.input(0), c.b.int64(c.constant(1))], {}, c.output),
  Squeeze: (c) => {
    const axes = c.ints("squeeze_dims");
    c.b.add("Squeeze", axes.length > 0 ? [c.input(0), c.b.int64(axes)] : [c.input(0)], {}, c.output);
  },
  Sum: (c) => c.b.add("ReduceSum", [c.input(0), c.b.int64(c.constant(1))], { keepdims: c.node.attr.keep_dims?.b ? 1 : 0 }, c.output),
  Pack: (c) => {
    const axis = c.int("axis");
    const rows = c.node.inputs.map((_, k) => c.b.add("Unsqueeze", [c.input(k), c.b.int64([axis])]));
    c.b.add("Concat", rows, { axis }, c.output);
  },
  ConcatV2: (c) => {
    const last = c.node.inputs.length - 1;
    const [axis] = c.constant(last);
    c.b.add("Concat", c.node.inputs.slice(0, last).map((_, k) => c.input(k)), { axis: axis ?? 0 }, c.output);
  },
  GatherV2: (c) => {
    if (c.int("batch_dims") !== 0) throw new Error(`${c.node.name}: GatherV2 with batch_dims is not supported`);
    const [axis] = c.constant(2);
    c.b.add("Gather", [c.input(0), c.input(1)], { axis: axis ?? 0 }, c.output);
  },
  // Bounds may be computed (a shape-polymorphic graph slices to its input's size) where no
  // mask rewrites them; the strides, and so the axes, are constants.
  StridedSlice: (c) => {
    if (c.int("ellipsis_mask") !== 0 || c.int("new_axis_mask") !== 0) {
      throw new Error(`${c.node.name}: StridedSlice with an ellipsis or new axis mask is not supported`);
    }
    const strides = c.constant(3);
    const [beginMask, endMask, shrinkMask] = [c.int("begin_mask"), c.int("end_mask"), c.int("shrink_axis_mask")];
    const axes = strides.map((_, axis) => axis);
    const bounds = (mask: number, k: number, fill: (from: bigint, step: number, axis: number) => bigint) => {
      if (mask === 0) return c.isConstant(k) ? c.b.int64(c.constant(k)) : c.input(k);
      const given = c.constant(k);
      return c.b.int64(strides.map((step, axis) => fill(BigInt(given[axis] ?? 0), step, axis)));
    };
    const shrunk = axes.filter((axis) => shrinkMask & (1 << axis));
    const starts = bounds(beginMask | shrinkMask, 1, (from, step, axis) => (beginMask & (1 << axis) && !(shrinkMask & (1 << axis)) ? (step > 0 ? 0n : INT64_MAX) : from));
    const begins = shrinkMask === 0 ? [] : c.constant(1);
    const ends = bounds(endMask | shrinkMask, 2, (to, step, axis) => {
      if (shrinkMask & (1 << axis)) {
        // One index, kept as an axis of 1 and squeezed below; -1 runs to the end, not to 0.
        const from = BigInt(begins[axis] ?? 0);
        return from === -1n ? INT64_MAX : from + 1n;
      }
      return endMask & (1 << axis) ? (step > 0 ? INT64_MAX : INT64_MIN) : to;
    });
    const steps = strides.map((step, axis) => (shrinkMask & (1 << axis) ? 1 : step));
    const sliced = [c.input(0), starts, ends, c.b.int64(axes), c.b.int64(steps)];
    if (shrunk.length === 0) c.b.add("Slice", sliced, {}, c.output);
    else c.b.add("Squeeze", [c.b.add("Slice", sliced), c.b.int64(shrunk)], {}, c.output);
  },
  Einsum: (c) => emitEinsum(c.b, c.string("equation"), c.node.inputs.map((_, k) => c.input(k)), c.output),
  Conv2D: (c) => {
    const x = c.b.add("Transpose", [c.input(0)], { perm: TO_NCHW });
    const w = c.b.add("Transpose", [c.input(1)], { perm: FILTER_TO_ONNX });
    const attributes = { strides: spatial(c.ints("strides"), c, "strides"), dilations: spatial(c.ints("dilations"), c, "dilations"), ...convPadding(c) };
    c.b.add("Transpose", [c.b.add("Conv", [x, w], attributes)], { perm: TO_NHWC }, c.output);
  },
  // A transposed convolution. VALID only: its output, (in - 1) * stride + kernel, is then the
  // size input_sizes names for any input a VALID convolution could have made it from.
  Conv2DBackpropInput: (c) => {
    if (c.string("padding") !== "VALID") throw new Error(`${c.node.name}: Conv2DBackpropInput with padding ${c.string("padding")} is not supported (VALID is)`);
    const x = c.b.add("Transpose", [c.input(2)], { perm: TO_NCHW });
    const w = c.b.add("Transpose", [c.input(1)], { perm: FILTER_TO_ONNX });
    const attributes = { strides: spatial(c.ints("strides"), c, "strides"), dilations: spatial(c.ints("dilations"), c, "dilations") };
    c.b.add("Transpose", [c.b.add("ConvTranspose", [x, w], attributes)], { perm: TO_NHWC }, c.output);
  },
};

/** The ops this converter knows, for messages and tests. */
export const SUPPORTED_OPS = ["Const", "Placeholder", ...Object.keys(TRANSLATIONS)].sort();

/** A TensorFlow constant as an ONNX initializer (int32 widened to int64). */
function initializer(name: string, constant: TfConstant): OnnxTensor {
  const { dtype, shape, values } = constant;
  if (dtype === "int32") {
    const wide = BigInt64Array.from(values as Int32Array, (v) => BigInt(v));
    return { name, type: OnnxType.int64, dims: shape, data: new Uint8Array(wide.buffer) };
  }
  return { name, type: ONNX_TYPE[dtype], dims: shape, data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

function attributeOf(node: TfNode, name: string) {
  const attr = node.attr[name];
  if (!attr) throw new Error(`${node.name}: ${node.op} has no attribute ${name}`);
  return attr;
}

/** A signature tensor as an ONNX graph input or output: unknown sizes get names of their own. */
function value(name: string, dtype: TfDtype, shape: readonly number[] | null): OnnxValue {
  return { name, type: ONNX_TYPE[dtype], dims: shape?.map((d, axis) => (d >= 0 ? d : `${name}_dim${axis}`)) ?? null };
}

/** The node's value when every input's is known (checked in order: most nodes stop at their first). */
function foldNode(node: TfNode, known: (tfName: string) => Folded | null): Folded | null {
  const values: Folded[] = [];
  for (const input of node.inputs) {
    const value = known(tensorName(input));
    if (!value) return null;
    values.push(value);
  }
  return fold(node, values);
}

function foldedTensor(name: string, folded: Folded): OnnxTensor {
  const { dtype, shape, values } = folded;
  if (dtype === "float32") return initializer(name, { dtype, shape, values: Float32Array.from(values) });
  if (dtype === "int32") return initializer(name, { dtype, shape, values: Int32Array.from(values) });
  return initializer(name, { dtype, shape, values: Uint8Array.from(values) });
}

export interface ConvertOptions {
  /**
   * Fixed sizes of the graph's inputs, by signature key: what is then known about the graph
   * (its shape arithmetic) is computed at conversion and the graph holds only the network,
   * for exactly these sizes. Without: the graph stays shape-polymorphic.
   */
  readonly inputShapes?: Readonly<Record<string, readonly number[]>>;
}

/**
 * A TensorFlow.js graph as an ONNX graph computing the same, op for op. Inputs and outputs
 * keep the signature's names, layouts and dtypes.
 */
export function tfjsToOnnx(graph: TfGraph, name: string, options: ConvertOptions = {}): OnnxGraph {
  const b = new GraphBuilder();
  const fixed = new Map(graph.inputs.flatMap((i) => (options.inputShapes?.[i.key] ? [[i.tensor, options.inputShapes[i.key] ?? []] as const] : [])));
  const folded = new Map<string, Folded>();
  const known = (tfName: string): Folded | null => {
    const value = folded.get(tfName);
    if (value) return value;
    const constant = graph.constants.get(tfName);
    return constant ? { dtype: constant.dtype, shape: constant.shape, values: Float64Array.from(constant.values) } : null;
  };
  const emitted = new Set<string>();
  /** The ONNX name of a tensor a node reads: a folded one becomes an initializer when first read. */
  const use = (tfName: string) => {
    const value = folded.get(tfName);
    if (value && !emitted.has(tfName)) {
      b.initializer(foldedTensor(onnxName(tfName), value));
      emitted.add(tfName);
    }
    return onnxName(tfName);
  };
  const unsupported = [...new Set(graph.nodes.map((n) => n.op).filter((op) => !SUPPORTED_OPS.includes(op)))];
  if (unsupported.length > 0) throw new Error(`${name}: ops ${unsupported.join(", ")} are not supported by the converter (it knows ${SUPPORTED_OPS.join(", ")})`);
  // Short value names: onnxruntime's session set-up slowed to minutes on MAXIM's 150-character
  // TensorFlow names, long shared prefixes compared over and over.
  const names = new Map<string, string>();
  const onnxName = (tfName: string) => {
    let name = names.get(tfName);
    if (name === undefined) {
      name = `t${names.size}`;
      names.set(tfName, name);
    }
    return name;
  };
  const inputs = graph.inputs.map((i) => {
    b.add("Identity", [i.key], {}, onnxName(i.tensor));
    return value(i.key, i.dtype, fixed.get(i.tensor) ?? i.shape);
  });
  for (const node of graph.nodes) {
    if (node.op === "Placeholder") continue;
    if (node.op === "Const") {
      const constant = graph.constants.get(node.name);
      if (!constant) throw new Error(`${name}: constant ${node.name} is not in the weights manifest`);
      b.initializer(initializer(onnxName(node.name), constant));
      continue;
    }
    const inputShape = node.op === "Shape" ? fixed.get(tensorName(node.inputs[0] ?? "")) : undefined;
    if (inputShape) {
      folded.set(node.name, { dtype: "int32", shape: [inputShape.length], values: Float64Array.from(inputShape) });
      continue;
    }
    const value = fixed.size > 0 && canFold(node.op) ? foldNode(node, known) : null;
    if (value) {
      folded.set(node.name, value);
      continue;
    }
    const context: Context = {
      b,
      node,
      output: onnxName(node.name),
      input(k) {
        const input = node.inputs[k];
        if (input === undefined) throw new Error(`${node.name}: ${node.op} has no input ${k}`);
        return use(tensorName(input));
      },
      constant(k) {
        const input = tensorName(node.inputs[k] ?? "");
        const value = known(input);
        if (!value) throw new Error(`${node.name}: ${node.op} needs input ${k} (${input}) to be a constant`);
        return Array.from(value.values);
      },
      isConstant: (k) => known(tensorName(node.inputs[k] ?? "")) !== null,
      int: (attr) => Number(attributeOf(node, attr).i ?? 0),
      ints: (attr) => (attributeOf(node, attr).list?.i ?? []).map(Number),
      string: (attr) => Buffer.from(attributeOf(node, attr).s ?? "", "base64").toString("utf8"),
      dtype: (attr) => tfDtype(attributeOf(node, attr).type, node.name),
    };
    const translate = TRANSLATIONS[node.op];
    if (translate) translate(context);
  }
  const outputs = graph.outputs.map((o) => {
    b.add("Identity", [use(o.tensor)], {}, o.key);
    return value(o.key, o.dtype, o.shape);
  });
  return b.graph(name, inputs, outputs);
}
