/**
 * The few ONNX protobuf messages a converted graph needs, written by hand (field numbers from
 * onnx/onnx.proto): a model is a graph of nodes, initializers and typed inputs/outputs, and
 * nothing here reads ONNX back. onnxruntime parses what this writes.
 */

/** ONNX's TensorProto.DataType values this converter emits. */
export const OnnxType = { float: 1, uint8: 2, int8: 3, int64: 7, bool: 9 } as const;
export type OnnxType = (typeof OnnxType)[keyof typeof OnnxType];

export interface OnnxTensor {
  readonly name: string;
  readonly type: OnnxType;
  readonly dims: readonly number[];
  /** Little-endian values, as ONNX's raw_data. */
  readonly data: Uint8Array;
}

export type OnnxAttribute = number | string | readonly number[] | { readonly floats: readonly number[] } | { readonly float: number };

export interface OnnxNode {
  readonly op: string;
  /** The operator set `op` is from: ONNX's own when absent; "com.microsoft" for onnxruntime's contrib ops. */
  readonly domain?: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: Readonly<Record<string, OnnxAttribute>>;
}

/** A graph input or output: a dimension is a size, or a name for one fixed at run time; null dims: any rank. */
export interface OnnxValue {
  readonly name: string;
  readonly type: OnnxType;
  readonly dims: readonly (number | string)[] | null;
}

export interface OnnxGraph {
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxTensor[];
  readonly inputs: readonly OnnxValue[];
  readonly outputs: readonly OnnxValue[];
}

/** Protobuf's wire format: varints and length-delimited fields, appended to one growing list of chunks. */
class Writer {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private varint(value: bigint): void {
    // Negative int64s are their two's complement: ten bytes.
    let v = BigInt.asUintN(64, value);
    const bytes: number[] = [];
    while (v >= 0x80n) {
      bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    bytes.push(Number(v));
    this.push(Uint8Array.from(bytes));
  }

  int(field: number, value: number): this {
    this.varint(BigInt((field << 3) | 0));
    this.varint(BigInt(value));
    return this;
  }

  float(field: number, value: number): this {
    this.varint(BigInt((field << 3) | 5));
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.push(bytes);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.varint(BigInt((field << 3) | 2));
    this.varint(BigInt(value.length));
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, write: (writer: Writer) => void): this {
    const inner = new Writer();
    write(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

// AttributeProto.AttributeType
const ATTRIBUTE = { float: 1, int: 2, string: 3, floats: 6, ints: 7 } as const;

function writeAttribute(w: Writer, name: string, value: OnnxAttribute): void {
  w.string(1, name);
  if (typeof value === "number") w.int(20, ATTRIBUTE.int).int(3, value);
  else if (typeof value === "string") w.int(20, ATTRIBUTE.string).string(4, value);
  else if ("floats" in value) {
    w.int(20, ATTRIBUTE.floats);
    for (const f of value.floats) w.float(7, f);
  } else if ("float" in value) w.int(20, ATTRIBUTE.float).float(2, value.float);
  else {
    w.int(20, ATTRIBUTE.ints);
    for (const i of value) w.int(8, i);
  }
}

function writeTensor(w: Writer, tensor: OnnxTensor): void {
  for (const d of tensor.dims) w.int(1, d);
  w.int(2, tensor.type).string(8, tensor.name).bytes(9, tensor.data);
}

function writeValue(w: Writer, value: OnnxValue): void {
  w.string(1, value.name).message(2, (type) =>
    type.message(1, (tensor) =>
      {
        tensor.int(1, value.type);
        const dims = value.dims;
        if (dims) {
          tensor.message(2, (shape) => {
            for (const d of dims) shape.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)));
          });
        }
      },
    ),
  );
}

function writeNode(w: Writer, node: OnnxNode): void {
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(4, node.op);
  if (node.domain) w.string(7, node.domain);
  for (const [name, value] of Object.entries(node.attributes ?? {})) w.message(5, (a) => writeAttribute(a, name, value));
}

/** The ModelProto bytes of `graph` at `opset` of the default domain (and version 1 of any other its nodes use: com.microsoft has no other). */
export function encodeModel(graph: OnnxGraph, opset: number, producer: string): Uint8Array {
  const otherDomains = new Set(graph.nodes.flatMap((n) => (n.domain ? [n.domain] : [])));
  const writer = new Writer()
    .int(1, 8) // IR version 8: onnxruntime 1.14 and later read it
    .string(2, producer)
    .message(7, (g) => {
      for (const node of graph.nodes) g.message(1, (n) => writeNode(n, node));
      g.string(2, graph.name);
      for (const tensor of graph.initializers) g.message(5, (t) => writeTensor(t, tensor));
      for (const input of graph.inputs) g.message(11, (v) => writeValue(v, input));
      for (const output of graph.outputs) g.message(12, (v) => writeValue(v, output));
    })
    .message(8, (o) => o.string(1, "").int(2, opset));
  for (const domain of otherDomains) writer.message(8, (o) => o.string(1, domain).int(2, 1));
  return writer.finish();
}
