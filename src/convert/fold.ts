import type { TfDtype, TfNode } from "./tfjs-graph.js";

/**
 * Constant folding at conversion time: once the input's size is fixed, a shape-polymorphic
 * graph's shape arithmetic (Shape -> StridedSlice -> Mul -> Pack -> Reshape, resize weights
 * from Range and Floor) is all known. onnxruntime's session set-up grows with the square of
 * such nodes (24k shape nodes: 60 s; MAXIM's 37k-node graph: over 10 minutes), so they are
 * computed here, in float32 or int32 as TensorFlow would, and only the network is left.
 */
export interface Folded {
  readonly dtype: TfDtype;
  readonly shape: readonly number[];
  readonly values: Float64Array;
}

type Fold = (inputs: readonly Folded[], node: TfNode) => Folded | null;

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Rounds as the dtype stores: float32 rounding, int32 truncation, bool 0/1. */
function store(dtype: TfDtype, v: number): number {
  if (dtype === "float32") return Math.fround(v);
  if (dtype === "int32") return Math.trunc(v) | 0;
  return v ? 1 : 0;
}

/** numpy's broadcasting of shapes; null where they do not broadcast. */
export function broadcastShape(shapes: readonly (readonly number[])[]): number[] | null {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let axis = 0; axis < rank; axis++) {
    let dim = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + axis] ?? 1;
      if (d !== 1 && dim !== 1 && d !== dim) return null;
      if (d !== 1) dim = d;
    }
    out.push(dim);
  }
  return out;
}

/** `f` over the inputs broadcast together (numpy's rules), into `shape` where given. */
function elementwise(inputs: readonly Folded[], dtype: TfDtype, f: (xs: readonly number[]) => number, target?: readonly number[]): Folded | null {
  const shape = broadcastShape(target ? [...inputs.map((i) => i.shape), target] : inputs.map((i) => i.shape));
  if (!shape) return null;
  const total = size(shape);
  const out = new Float64Array(total);
  const steps = inputs.map((input) => {
    const offset = shape.length - input.shape.length;
    let stride = 1;
    const s = new Array<number>(shape.length).fill(0);
    for (let axis = input.shape.length - 1; axis >= 0; axis--) {
      if ((input.shape[axis] ?? 1) !== 1) s[axis + offset] = stride;
      stride *= input.shape[axis] ?? 1;
    }
    return s;
  });
  const xs = new Array<number>(inputs.length).fill(0);
  for (let flat = 0; flat < total; flat++) {
    let rest = flat;
    const offsets = new Array<number>(inputs.length).fill(0);
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      const dim = shape[axis] ?? 1;
      const index = rest % dim;
      rest = (rest - index) / dim;
      steps.forEach((s, k) => (offsets[k] = (offsets[k] ?? 0) + index * (s[axis] ?? 0)));
    }
    inputs.forEach((input, k) => (xs[k] = input.values[offsets[k] ?? 0] ?? 0));
    out[flat] = store(dtype, f(xs));
  }
  return { dtype, shape, values: out };
}

const unary =
  (f: (x: number) => number): Fold =>
  ([a]) =>
    a ? elementwise([a], a.dtype, ([x = 0]) => f(x)) : null;
const binary =
  (f: (a: number, b: number) => number, result?: TfDtype): Fold =>
  ([a, b]) =>
    a && b ? elementwise([a, b], result ?? a.dtype, ([x = 0, y = 0]) => f(x, y)) : null;

function reshape(input: Folded, shape: readonly number[]): Folded | null {
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const full = shape.map((d) => (d === -1 ? size(input.shape) / known : d));
  return size(full) === size(input.shape) ? { ...input, shape: full } : null;
}

function concat(inputs: readonly Folded[], axis: number): Folded | null {
  const [first] = inputs;
  if (!first) return null;
  const rank = first.shape.length;
  const a = axis < 0 ? axis + rank : axis;
  const outer = size(first.shape.slice(0, a));
  const shape = [...first.shape];
  shape[a] = inputs.reduce((sum, i) => sum + (i.shape[a] ?? 0), 0);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const input of inputs) {
      const inner = size(input.shape.slice(a));
      for (let k = 0; k < inner; k++) out.push(input.values[o * inner + k] ?? 0);
    }
  }
  return { dtype: first.dtype, shape, values: Float64Array.from(out) };
}

const list = (f: Folded) => Array.from(f.values);
const attrInt = (node: TfNode, name: string) => Number(node.attr[name]?.i ?? 0);

/** TensorFlow's StridedSlice (ellipsis and new-axis masks left to onnxruntime). */
function stridedSlice([input, begin, end, strides]: readonly Folded[], node: TfNode): Folded | null {
  if (!input || !begin || !end || !strides || attrInt(node, "ellipsis_mask") || attrInt(node, "new_axis_mask")) return null;
  const [beginMask, endMask, shrinkMask] = [attrInt(node, "begin_mask"), attrInt(node, "end_mask"), attrInt(node, "shrink_axis_mask")];
  const ranges = input.shape.map((dim, axis) => {
    const step = strides.values[axis] ?? 1;
    const bit = 1 << axis;
    if (axis >= begin.values.length) return { start: 0, step: 1, count: dim };
    const clampIndex = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + dim : v, lo), hi);
    if (shrinkMask & bit) return { start: clampIndex(begin.values[axis] ?? 0, 0, dim - 1), step: 1, count: 1 };
    const [lo, hi] = step > 0 ? [0, dim] : [-1, dim - 1];
    const start = beginMask & bit ? (step > 0 ? 0 : dim - 1) : clampIndex(begin.values[axis] ?? 0, lo, hi);
    const stop = endMask & bit ? (step > 0 ? dim : -1) : clampIndex(end.values[axis] ?? 0, lo, hi);
    return { start, step, count: Math.max(0, Math.ceil((stop - start) / step)) };
  });
  const outShape = ranges.map((r) => r.count);
  const inStrides = input.shape.map((_, axis) => size(input.shape.slice(axis + 1)));
  const out = new Float64Array(size(outShape));
  for (let flat = 0; flat < out.length; flat++) {
    let rest = flat;
    let offset = 0;
    for (let axis = outShape.length - 1; axis >= 0; axis--) {
      const dim = outShape[axis] ?? 1;
      const index = rest % dim;
      rest = (rest - index) / dim;
      const r = ranges[axis];
      if (r) offset += (r.start + index * r.step) * (inStrides[axis] ?? 0);
    }
    out[flat] = input.values[offset] ?? 0;
  }
  return { dtype: input.dtype, shape: outShape.filter((_, axis) => !(shrinkMask & (1 << axis))), values: out };
}

function sum([input, axes]: readonly Folded[], node: TfNode): Folded | null {
  if (!input || !axes) return null;
  const rank = input.shape.length;
  const reduced = new Set(list(axes).map((a) => (a < 0 ? a + rank : a)));
  const kept = input.shape.map((d, axis) => (reduced.has(axis) ? 1 : d));
  const out = new Float64Array(size(kept));
  const keptStrides = kept.map((_, axis) => size(kept.slice(axis + 1)));
  for (let flat = 0; flat < input.values.length; flat++) {
    let rest = flat;
    let target = 0;
    for (let axis = rank - 1; axis >= 0; axis--) {
      const dim = input.shape[axis] ?? 1;
      const index = rest % dim;
      rest = (rest - index) / dim;
      if (!reduced.has(axis)) target += index * (keptStrides[axis] ?? 0);
    }
    out[target] = (out[target] ?? 0) + (input.values[flat] ?? 0);
  }
  const values = out.map((v) => store(input.dtype, v));
  return { dtype: input.dtype, shape: node.attr.keep_dims?.b ? kept : input.shape.filter((_, axis) => !reduced.has(axis)), values };
}

function transpose([input, perm]: readonly Folded[]): Folded | null {
  if (!input || !perm) return null;
  const order = list(perm);
  const shape = order.map((p) => input.shape[p] ?? 1);
  const inStrides = input.shape.map((_, axis) => size(input.shape.slice(axis + 1)));
  const out = new Float64Array(input.values.length);
  for (let flat = 0; flat < out.length; flat++) {
    let rest = flat;
    let offset = 0;
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      const dim = shape[axis] ?? 1;
      const index = rest % dim;
      rest = (rest - index) / dim;
      offset += index * (inStrides[order[axis] ?? 0] ?? 0);
    }
    out[flat] = input.values[offset] ?? 0;
  }
  return { dtype: input.dtype, shape, values: out };
}

const FOLDS: Readonly<Record<string, Fold>> = {
  Identity: ([a]) => a ?? null,
  AddV2: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  RealDiv: binary((a, b) => a / b),
  Maximum: binary(Math.max),
  Minimum: binary(Math.min),
  FloorDiv: binary((a, b) => Math.floor(a / b)),
  FloorMod: binary((a, b) => a - Math.floor(a / b) * b),
  Greater: binary((a, b) => Number(a > b), "bool"),
  GreaterEqual: binary((a, b) => Number(a >= b), "bool"),
  Less: binary((a, b) => Number(a < b), "bool"),
  LessEqual: binary((a, b) => Number(a <= b), "bool"),
  NotEqual: binary((a, b) => Number(a !== b), "bool"),
  LogicalAnd: binary((a, b) => Number(a && b), "bool"),
  Abs: unary(Math.abs),
  Neg: unary((x) => -x),
  Sign: unary(Math.sign),
  Floor: unary(Math.floor),
  Reciprocal: unary((x) => 1 / Math.fround(x)),
  Square: unary((x) => x * x),
  SelectV2: ([c, a, b]) => (c && a && b ? elementwise([c, a, b], a.dtype, ([k = 0, x = 0, y = 0]) => (k ? x : y)) : null),
  Cast: ([a], node) => {
    const to = node.attr.DstT?.type;
    const dtype: TfDtype | null = to === "DT_FLOAT" ? "float32" : to === "DT_INT32" ? "int32" : to === "DT_BOOL" ? "bool" : null;
    return a && dtype ? elementwise([a], dtype, ([x = 0]) => x) : null;
  },
  Reshape: ([a, shape]) => (a && shape ? reshape(a, list(shape)) : null),
  ExpandDims: ([a, axis]) => {
    if (!a || !axis) return null;
    const [at = 0] = list(axis);
    const shape = [...a.shape];
    shape.splice(at < 0 ? at + shape.length + 1 : at, 0, 1);
    return { ...a, shape };
  },
  Squeeze: ([a], node) => {
    if (!a) return null;
    const axes = (node.attr.squeeze_dims?.list?.i ?? []).map(Number).map((x) => (x < 0 ? x + a.shape.length : x));
    return { ...a, shape: a.shape.filter((d, axis) => (axes.length > 0 ? !axes.includes(axis) : d !== 1)) };
  },
  Pack: (inputs, node) => {
    const axis = attrInt(node, "axis");
    const rows = inputs.map((i) => {
      const shape = [...i.shape];
      shape.splice(axis < 0 ? axis + shape.length + 1 : axis, 0, 1);
      return { ...i, shape };
    });
    return concat(rows, axis);
  },
  ConcatV2: (inputs) => {
    const axis = inputs[inputs.length - 1];
    return axis ? concat(inputs.slice(0, -1), axis.values[0] ?? 0) : null;
  },
  BroadcastTo: ([a, shape]) => (a && shape ? elementwise([a], a.dtype, ([x = 0]) => x, list(shape)) : null),
  Range: ([start, limit, delta]) => {
    if (!start || !limit || !delta) return null;
    const [s = 0, l = 0, d = 1] = [start.values[0], limit.values[0], delta.values[0]];
    const count = Math.max(0, Math.ceil((l - s) / d));
    return { dtype: start.dtype, shape: [count], values: Float64Array.from({ length: count }, (_, k) => store(start.dtype, s + k * d)) };
  },
  Sum: sum,
  StridedSlice: stridedSlice,
  Transpose: transpose,
};

export function canFold(op: string): boolean {
  return Object.hasOwn(FOLDS, op);
}

/** The node's value from its inputs' values, or null when it cannot be computed here. */
export function fold(node: TfNode, inputs: readonly Folded[]): Folded | null {
  const f = FOLDS[node.op];
  return f ? f(inputs, node) : null;
}
