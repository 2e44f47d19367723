import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** A TensorFlow dtype as a graph model names it, and as its weights manifest does. */
export type TfDtype = "float32" | "int32" | "bool";

/** One attribute of a node, as model.json stores it (protobuf's JSON mapping of AttrValue). */
export interface TfAttr {
  readonly s?: string;
  readonly i?: string;
  readonly f?: number;
  readonly b?: boolean;
  readonly type?: string;
  readonly list?: { readonly i?: readonly string[]; readonly s?: readonly string[] };
  readonly shape?: { readonly dim?: readonly { readonly size?: string }[]; readonly unknownRank?: boolean };
}

export interface TfNode {
  readonly name: string;
  readonly op: string;
  /** Other nodes' outputs, "name" or "name:k"; control inputs ("^name") are left out. */
  readonly inputs: readonly string[];
  readonly attr: Readonly<Record<string, TfAttr>>;
}

export interface TfConstant {
  readonly dtype: TfDtype;
  readonly shape: readonly number[];
  readonly values: Float32Array | Int32Array | Uint8Array;
}

/** A signature entry: the tensor a graph input or output is, with its dtype and shape (-1: any). */
export interface TfSignatureTensor {
  readonly key: string;
  readonly tensor: string;
  readonly dtype: TfDtype;
  /** null: not given (any rank). */
  readonly shape: readonly number[] | null;
}

export interface TfGraph {
  /** In an order where every node comes after the nodes it reads. */
  readonly nodes: readonly TfNode[];
  readonly constants: ReadonlyMap<string, TfConstant>;
  readonly inputs: readonly TfSignatureTensor[];
  readonly outputs: readonly TfSignatureTensor[];
}

interface ModelJson {
  readonly format?: string;
  readonly modelTopology?: { readonly node?: readonly RawNode[] };
  readonly signature?: { readonly inputs?: Record<string, RawSignatureTensor>; readonly outputs?: Record<string, RawSignatureTensor> };
  readonly weightsManifest?: readonly { readonly paths: readonly string[]; readonly weights: readonly RawWeight[] }[];
}

interface RawNode {
  readonly name: string;
  readonly op: string;
  readonly input?: readonly string[];
  readonly attr?: Record<string, TfAttr>;
}

interface RawSignatureTensor {
  readonly name: string;
  readonly dtype: string;
  readonly tensorShape?: { readonly dim?: readonly { readonly size?: string }[] };
}

interface RawWeight {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly quantization?: unknown;
}

const DTYPES: Readonly<Record<string, TfDtype>> = { float32: "float32", int32: "int32", bool: "bool", DT_FLOAT: "float32", DT_INT32: "int32", DT_BOOL: "bool" };
const BYTES: Readonly<Record<TfDtype, number>> = { float32: 4, int32: 4, bool: 1 };

/** The dtype `name` stands for ("float32" in a manifest, "DT_FLOAT" in an attribute), or an error naming `where`. */
export function tfDtype(name: string | undefined, where: string): TfDtype {
  const dtype = name === undefined ? undefined : DTYPES[name];
  if (!dtype) throw new Error(`${where}: dtype ${name ?? "(none)"} is not supported (float32, int32 and bool are)`);
  return dtype;
}

/** A TensorFlow.js graph model (model.json and its weight shards beside it), read whole. */
export async function readTfjsGraph(modelJson: string): Promise<TfGraph> {
  const model = JSON.parse(await readFile(modelJson, "utf8")) as ModelJson;
  if (model.format !== "graph-model") throw new Error(`${modelJson}: format is ${model.format ?? "(none)"}, where a TensorFlow.js graph-model was expected`);
  const rawNodes = model.modelTopology?.node ?? [];
  const constants = await readWeights(modelJson, model.weightsManifest ?? []);
  const signature = model.signature;
  if (!signature?.inputs || !signature.outputs) throw new Error(`${modelJson}: no signature (its inputs and outputs); convert the model with a signature`);
  const nodes = rawNodes.map(
    (n): TfNode => ({ name: n.name, op: n.op, inputs: (n.input ?? []).filter((i) => !i.startsWith("^")), attr: n.attr ?? {} }),
  );
  return {
    nodes: topologicalOrder(nodes, modelJson),
    constants,
    inputs: Object.entries(signature.inputs).map(([key, t]) => signatureTensor(key, t, modelJson)),
    outputs: Object.entries(signature.outputs).map(([key, t]) => signatureTensor(key, t, modelJson)),
  };
}

function signatureTensor(key: string, raw: RawSignatureTensor, where: string): TfSignatureTensor {
  return {
    key,
    tensor: raw.name.replace(/:0$/, ""),
    dtype: tfDtype(raw.dtype, `${where}: signature ${key}`),
    shape: raw.tensorShape ? (raw.tensorShape.dim ?? []).map((d) => Number(d.size ?? -1)) : null,
  };
}

async function readWeights(modelJson: string, manifest: NonNullable<ModelJson["weightsManifest"]>): Promise<Map<string, TfConstant>> {
  const constants = new Map<string, TfConstant>();
  for (const group of manifest) {
    const shards = await Promise.all(group.paths.map((p) => readFile(join(dirname(modelJson), p))));
    const bytes = Buffer.concat(shards);
    let offset = 0;
    for (const weight of group.weights) {
      const where = `${modelJson}: weight ${weight.name}`;
      if (weight.quantization) throw new Error(`${where}: quantized weights are not supported; convert the model without quantization`);
      const dtype = tfDtype(weight.dtype, where);
      const count = weight.shape.reduce((a, b) => a * b, 1);
      const size = count * BYTES[dtype];
      if (offset + size > bytes.length) throw new Error(`${where}: the shards hold ${bytes.length} bytes, fewer than the manifest lists`);
      // A copy, aligned for the typed array whatever the weight's offset in the shards.
      const own = new Uint8Array(bytes.subarray(offset, offset + size));
      const values = dtype === "float32" ? new Float32Array(own.buffer) : dtype === "int32" ? new Int32Array(own.buffer) : own;
      constants.set(weight.name, { dtype, shape: weight.shape, values });
      offset += size;
    }
  }
  return constants;
}

/**
 * The graph cut short: its one output is `tensor`, an inner node's (a multi-stage network's
 * earlier stage), under the signature's own key, and only the nodes it needs are kept.
 */
export function endingAt(graph: TfGraph, tensor: string): TfGraph {
  const [output] = graph.outputs;
  if (!output || graph.outputs.length !== 1) throw new Error("only a graph of one output can be cut short");
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  if (!byName.has(producer(tensor))) throw new Error(`no node makes ${tensor}, where the graph was to end`);
  const needed = new Set<string>();
  const stack = [producer(tensor)];
  while (stack.length > 0) {
    const name = stack.pop() as string;
    if (needed.has(name)) continue;
    needed.add(name);
    for (const input of byName.get(name)?.inputs ?? []) stack.push(producer(input));
  }
  return { ...graph, nodes: graph.nodes.filter((n) => needed.has(n.name)), outputs: [{ ...output, tensor: tensorName(tensor) }] };
}

/** The tensor a node input names: "name:0" and "name" are the same. */
export function tensorName(input: string): string {
  return input.replace(/:0$/, "");
}

/** The node that produces `input` ("name" or "name:k"). */
function producer(input: string): string {
  return input.replace(/:\d+$/, "");
}

function topologicalOrder(nodes: readonly TfNode[], where: string): TfNode[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const done = new Set<string>();
  const order: TfNode[] = [];
  for (const root of nodes) {
    // Iterative depth-first walk: MAXIM's chains are thousands of nodes deep.
    const stack: { node: TfNode; next: number }[] = [{ node: root, next: 0 }];
    const onPath = new Set<string>();
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (!top) break;
      if (done.has(top.node.name)) {
        stack.pop();
        continue;
      }
      onPath.add(top.node.name);
      const input = top.node.inputs[top.next++];
      if (input === undefined) {
        done.add(top.node.name);
        onPath.delete(top.node.name);
        order.push(top.node);
        stack.pop();
        continue;
      }
      const child = byName.get(producer(input));
      if (!child) throw new Error(`${where}: node ${top.node.name} reads ${input}, which no node makes`);
      if (onPath.has(child.name)) throw new Error(`${where}: node ${child.name} is in a cycle (control flow is not supported)`);
      if (!done.has(child.name)) stack.push({ node: child, next: 0 });
    }
  }
  return order;
}
