import { OnnxType, type OnnxAttribute, type OnnxGraph, type OnnxNode, type OnnxTensor, type OnnxValue } from "./onnx-proto.js";

/** Slice's "to the end" and "from the start, backwards": int64's extremes. */
export const INT64_MAX = 2n ** 63n - 1n;
export const INT64_MIN = -(2n ** 63n);

/** Collects an ONNX graph's nodes and initializers, naming what it makes so that names never clash. */
export class GraphBuilder {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: OnnxTensor[] = [];
  private readonly int64s = new Map<string, string>();
  private counter = 0;

  /** `prefix` keeps apart the names of builders whose graphs are joined. */
  constructor(private readonly prefix = "") {}

  /** A fresh name for an intermediate value, readable after the value it came from. */
  fresh(hint: string): string {
    return `${this.prefix}${hint}__${this.counter++}`;
  }

  /** Adds a node with one output, named `output` (or a fresh name after `hint`); returns that name. */
  add(op: string, inputs: readonly string[], attributes: Readonly<Record<string, OnnxAttribute>> = {}, output?: string): string {
    const name = output ?? this.fresh(`${op.toLowerCase()}`);
    this.nodes.push({ op, inputs, outputs: [name], attributes });
    return name;
  }

  initializer(tensor: OnnxTensor): string {
    this.initializers.push(tensor);
    return tensor.name;
  }

  /** A shared int64 constant (a 1-D list, or a scalar with `scalar`): shapes, axes, bounds. */
  int64(values: readonly (number | bigint)[], scalar = false): string {
    const key = `${scalar ? "s" : "v"}${values.join(",")}`;
    const known = this.int64s.get(key);
    if (known) return known;
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    const name = this.initializer({ name: this.fresh("const_i64"), type: OnnxType.int64, dims: scalar ? [] : [values.length], data: new Uint8Array(data.buffer) });
    this.int64s.set(key, name);
    return name;
  }

  float(value: number): string {
    return this.initializer({ name: this.fresh("const_f32"), type: OnnxType.float, dims: [], data: new Uint8Array(Float32Array.of(value).buffer) });
  }

  /** The graph, without the initializers no node reads (constants an op took as attributes). */
  graph(name: string, inputs: readonly OnnxValue[], outputs: readonly OnnxValue[]): OnnxGraph {
    const read = new Set(this.nodes.flatMap((n) => n.inputs));
    return { name, nodes: this.nodes, initializers: this.initializers.filter((t) => read.has(t.name)), inputs, outputs };
  }
}
