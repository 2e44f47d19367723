import { OnnxType, type OnnxGraph, type OnnxNode, type OnnxTensor } from "./onnx-proto.js";

/** Who makes and who reads each value of a graph, and its constants: what a fusion pass looks up. */
export interface GraphIndex {
  readonly constants: ReadonlyMap<string, OnnxTensor>;
  /** The node that makes `name` if it is an `op`, else null. */
  made(name: string | undefined, op: string): OnnxNode | null;
  /** The one node that reads `node`'s output if it is an `op` and nothing else reads it, else null. */
  onlyConsumer(node: OnnxNode, op: string): OnnxNode | null;
  /** The nodes that read `node`'s (first) output. */
  consumers(node: OnnxNode): readonly OnnxNode[];
  /** A binary node's input that is not a constant, and its constant one; null unless exactly one is constant. */
  split(node: OnnxNode): { value: string; constant: OnnxTensor } | null;
}

export function indexGraph(graph: OnnxGraph): GraphIndex {
  const producer = new Map<string, OnnxNode>();
  // Lists grown in place: shared constants feed thousands of nodes.
  const consumers = new Map<string, OnnxNode[]>();
  for (const node of graph.nodes) {
    for (const output of node.outputs) producer.set(output, node);
    for (const input of node.inputs) {
      const users = consumers.get(input);
      if (users) users.push(node);
      else consumers.set(input, [node]);
    }
  }
  const constants = new Map(graph.initializers.map((t) => [t.name, t]));
  return {
    constants,
    made(name, op) {
      const node = name === undefined ? undefined : producer.get(name);
      return node?.op === op ? node : null;
    },
    onlyConsumer(node, op) {
      const [output] = node.outputs;
      const users = output === undefined ? [] : (consumers.get(output) ?? []);
      return users.length === 1 && users[0]?.op === op ? users[0] : null;
    },
    consumers(node) {
      const [output] = node.outputs;
      return output === undefined ? [] : (consumers.get(output) ?? []);
    },
    split(node) {
      const [a, b] = node.inputs;
      if (a === undefined || b === undefined) return null;
      const constant = constants.get(b) ?? constants.get(a);
      if (!constant || (constants.has(a) && constants.has(b))) return null;
      return { value: constants.has(b) ? a : b, constant };
    },
  };
}

/** Initializers a fusion adds, each made once however many matches ask for it by name. */
export class AddedInitializers {
  private readonly byName = new Map<string, OnnxTensor>();

  once(name: string, make: () => Omit<OnnxTensor, "name">): OnnxTensor {
    let tensor = this.byName.get(name);
    if (!tensor) this.byName.set(name, (tensor = { ...make(), name }));
    return tensor;
  }

  /** A 1-D int64 constant (a shape for Reshape), named after `prefix` (one per rewrite, so that two rewrites' never clash) and its values. */
  int64s(prefix: string, values: readonly number[]): string {
    return this.once(`${prefix}_${values.join("x")}`, () => ({ type: OnnxType.int64, dims: [values.length], data: new Uint8Array(BigInt64Array.from(values, BigInt).buffer) })).name;
  }

  values(): Iterable<OnnxTensor> {
    return this.byName.values();
  }
}

/**
 * The graph with each key of `replaced` swapped for its node(s) in place and `added` among the
 * initializers, less what nothing reads any more (the nodes a fusion made redundant); `graph`
 * itself when nothing was replaced.
 */
export function withReplacements(graph: OnnxGraph, replaced: ReadonlyMap<OnnxNode, OnnxNode | readonly OnnxNode[]>, added?: AddedInitializers): OnnxGraph {
  if (replaced.size === 0) return graph;
  const nodes = graph.nodes.flatMap((n) => replaced.get(n) ?? n);
  return withoutDeadNodes({ ...graph, nodes, initializers: [...graph.initializers, ...(added?.values() ?? [])] });
}

/** The graph without nodes nothing reads and initializers no node reads. */
function withoutDeadNodes(graph: OnnxGraph): OnnxGraph {
  const needed = new Set(graph.outputs.map((o) => o.name));
  const kept: OnnxNode[] = [];
  for (const node of [...graph.nodes].reverse()) {
    if (!node.outputs.some((o) => needed.has(o))) continue;
    kept.push(node);
    for (const input of node.inputs) needed.add(input);
  }
  return { ...graph, nodes: kept.reverse(), initializers: graph.initializers.filter((t) => needed.has(t.name)) };
}

/** A float scalar (or one-element) initializer's value, or null for anything else. */
export function floatScalar(tensor: OnnxTensor): number | null {
  if (tensor.type !== OnnxType.float || tensor.data.byteLength !== 4) return null;
  return new DataView(tensor.data.buffer, tensor.data.byteOffset, 4).getFloat32(0, true);
}
