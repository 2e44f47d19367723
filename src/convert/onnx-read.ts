/**
 * The part of an ONNX file that holds weights, read back by hand (field numbers from
 * onnx/onnx.proto, as onnx-proto.ts writes them): the graph's float initializers and the
 * model's metadata_props. Nodes and everything else are skipped unread.
 */

/** A float32 initializer, in ONNX's layout (a conv kernel is OIHW). */
export interface OnnxFloats {
  readonly dims: readonly number[];
  readonly values: Float32Array;
}

export interface OnnxWeights {
  readonly metadata: ReadonlyMap<string, string>;
  /** By initializer name; initializers of other types (a graph's int64 shapes) are left out. */
  readonly floats: ReadonlyMap<string, OnnxFloats>;
}

// TensorProto.DataType.FLOAT, TensorProto.DataLocation.EXTERNAL; protobuf's wire types.
const FLOAT = 1;
const DATA_LOCATION_EXTERNAL = 1;
const WIRE = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;

/** Protobuf's wire format over one message's bytes: each field's number, wire type and value. */
class Reader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  *fields(): Generator<{ field: number; wire: number }> {
    while (!this.done) {
      const key = this.varint();
      yield { field: Math.floor(key / 8), wire: key % 8 };
    }
  }

  /** Up to 2^53: sizes, dims and enum values, never a weight. */
  varint(): number {
    let [value, scale] = [0, 1];
    for (;;) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
  }

  /** A length-delimited field's bytes (a message, a string, a packed list). */
  bytesField(): Uint8Array {
    return this.fixed(this.varint());
  }

  /** The next `length` bytes (4: a fixed32 field's value). */
  fixed(length: number): Uint8Array {
    if (this.offset + length > this.bytes.length) throw new Error("truncated: a field runs past the end of the file");
    const value = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  string(): string {
    return new TextDecoder().decode(this.bytesField());
  }

  skip(wire: number): void {
    if (wire === WIRE.varint) this.varint();
    else if (wire === WIRE.bytes) this.bytesField();
    else if (wire === WIRE.fixed64 || wire === WIRE.fixed32) this.fixed(wire === WIRE.fixed64 ? 8 : 4);
    else throw new Error(`not an ONNX file: protobuf wire type ${wire} at byte ${this.offset}`);
  }

  private byte(): number {
    const byte = this.bytes[this.offset++];
    if (byte === undefined) throw new Error("truncated: the file ends inside a field");
    return byte;
  }
}

/** The weights and metadata of a serialized ModelProto. Throws on a malformed file. */
export function readOnnxWeights(bytes: Uint8Array): OnnxWeights {
  const metadata = new Map<string, string>();
  const floats = new Map<string, OnnxFloats>();
  const model = new Reader(bytes);
  for (const { field, wire } of model.fields()) {
    if (field === 7 && wire === WIRE.bytes) readInitializers(model.bytesField(), floats);
    else if (field === 14 && wire === WIRE.bytes) {
      const entry = readEntry(model.bytesField());
      metadata.set(entry.key, entry.value);
    } else model.skip(wire);
  }
  return { metadata, floats };
}

function readInitializers(graph: Uint8Array, into: Map<string, OnnxFloats>): void {
  const reader = new Reader(graph);
  for (const { field, wire } of reader.fields()) {
    if (field !== 5 || wire !== WIRE.bytes) {
      reader.skip(wire);
      continue;
    }
    const tensor = readTensor(reader.bytesField());
    if (tensor) into.set(tensor.name, { dims: tensor.dims, values: tensor.values });
  }
}

/** A float TensorProto's name, dims and values (from raw_data or float_data); null for another type. */
function readTensor(bytes: Uint8Array): (OnnxFloats & { name: string }) | null {
  const reader = new Reader(bytes);
  const dims: number[] = [];
  let [type, name] = [0, ""];
  let raw: Uint8Array | null = null;
  let external = false;
  // float_data comes packed (one chunk) or, from some writers, one float a field.
  const listed: Float32Array[] = [];
  for (const { field, wire } of reader.fields()) {
    if (field === 1 && wire === WIRE.varint) dims.push(reader.varint());
    else if (field === 1 && wire === WIRE.bytes) dims.push(...packedVarints(reader.bytesField()));
    else if (field === 2 && wire === WIRE.varint) type = reader.varint();
    else if (field === 4 && wire === WIRE.bytes) listed.push(littleEndianFloats(reader.bytesField()));
    else if (field === 4 && wire === WIRE.fixed32) listed.push(littleEndianFloats(reader.fixed(4)));
    else if (field === 8 && wire === WIRE.bytes) name = reader.string();
    else if (field === 9 && wire === WIRE.bytes) raw = reader.bytesField();
    else if (field === 14 && wire === WIRE.varint) external = reader.varint() === DATA_LOCATION_EXTERNAL;
    else reader.skip(wire);
  }
  if (type !== FLOAT) return null;
  if (external) throw new Error(`initializer ${name}: its data is in an external file, which this reader does not follow`);
  const values = raw ? littleEndianFloats(raw) : concatenated(listed);
  const count = dims.reduce((a, b) => a * b, 1);
  if (values.length !== count) throw new Error(`initializer ${name}: ${values.length} values for dims [${dims.join(", ")}]`);
  return { name, dims, values };
}

function concatenated(chunks: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(chunks.reduce((n, chunk) => n + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function readEntry(bytes: Uint8Array): { key: string; value: string } {
  const reader = new Reader(bytes);
  let [key, value] = ["", ""];
  for (const { field, wire } of reader.fields()) {
    if (field === 1 && wire === WIRE.bytes) key = reader.string();
    else if (field === 2 && wire === WIRE.bytes) value = reader.string();
    else reader.skip(wire);
  }
  return { key, value };
}

function packedVarints(bytes: Uint8Array): number[] {
  const reader = new Reader(bytes);
  const values: number[] = [];
  while (!reader.done) values.push(reader.varint());
  return values;
}

/** ONNX stores floats little-endian whatever the machine; a DataView reads them so on any. */
function littleEndianFloats(bytes: Uint8Array): Float32Array {
  if (bytes.length % 4 !== 0) throw new Error(`${bytes.length} bytes of float data: not a whole number of floats`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Float32Array(bytes.length / 4);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(i * 4, true);
  return values;
}
