import { AddedInitializers, indexGraph, withReplacements } from "./graph-index.js";
import { graphShapes } from "./graph-shapes.js";
import { OnnxType, type OnnxGraph, type OnnxNode, type OnnxTensor } from "./onnx-proto.js";

/**
 * A layer norm read only by dense layers, as an InstanceNormalization of its rows with its scale
 * and shift moved into the dense layers' weights and biases:
 *
 *   LayerNorm(x, g, b) @ W + c  ->  InstanceNorm(x as rows) @ (g * W) + (c + b @ W)
 *
 * onnxruntime 1.30's CPU LayerNormalization (and SkipLayerNormalization) sums each row in one
 * scalar float chain and divides each element by the deviation, about 8 cycles an element at
 * MAXIM's 32 to 128 channels; its InstanceNormalization runs each row through Eigen's vectorized
 * sums, on one thread: 1.7 ms against 4.2 for 81920x32 on the 2-core AVX-512 Xeon, twenty in a
 * chain. InstanceNormalization's scale and shift are per row, so the norm's own per-channel ones
 * go into what reads it: only where every reader is a MatMul with a constant weight on the right
 * followed by an Add of a constant bias (240 of MAXIM's 372 layer norms, 36 of them skip layer norms).
 */
export function layerNormsAsInstanceNorms(graph: OnnxGraph): OnnxGraph {
  const { constants, consumers, made, onlyConsumer, split } = indexGraph(graph);
  const shapes = graphShapes(graph);
  const replaced = new Map<OnnxNode, OnnxNode | readonly OnnxNode[]>();
  const added = new AddedInitializers();
  /** The dense product (a MatMul by a constant that nothing else reads) behind `value`, through a Reshape that keeps the channels last and nothing else reads. */
  const unbiased = (value: string): UnbiasedDense | null => {
    const reshape = made(value, "Reshape");
    const [behind, shape] = reshape ? reshape.inputs : [value, undefined];
    if (reshape && (consumers(reshape).length !== 1 || shape === undefined || shapes.get(behind ?? "")?.at(-1) !== shapes.get(value)?.at(-1))) return null;
    const product = made(behind, "MatMul");
    if (!product || !behind || !constants.has(product.inputs[1] ?? "") || consumers(product).length !== 1) return null;
    return { product: behind, shape: shape ?? null };
  };
  const isSkip = (node: OnnxNode) => node.op === "SkipLayerNormalization" && node.domain === "com.microsoft";

  /** The dense layers (MatMul by a constant, then Add of a constant) reading `node`, directly or through a Reshape that keeps the channels last; null if anything else reads it. */
  const denseReaders = (node: OnnxNode, channels: number, viaReshape = true): DenseReader[] | null => {
    const [value] = node.outputs;
    const readers: DenseReader[] = [];
    for (const reader of consumers(node)) {
      if (reader.op === "Reshape" && viaReshape && shapes.get(reader.outputs[0] ?? "")?.at(-1) === channels && reader.inputs[0] === value) {
        const behind = denseReaders(reader, channels, false);
        if (!behind) return null;
        readers.push(...behind);
        continue;
      }
      const [input, wName] = reader.inputs;
      const weight = wName === undefined ? undefined : constants.get(wName);
      const biasAdd = reader.op === "MatMul" && input === value ? onlyConsumer(reader, "Add") : null;
      const bias = biasAdd ? split(biasAdd) : null;
      if (!biasAdd || !bias || !weight || weight.type !== OnnxType.float || weight.dims.length !== 2 || weight.dims[0] !== channels) return null;
      if (!isFloatVector(bias.constant, weight.dims[1] ?? 0)) return null;
      readers.push({ product: reader, weight, biasAdd, bias: bias.constant, biased: bias.value });
    }
    return readers.length > 0 ? readers : null;
  };

  for (const norm of graph.nodes) {
    if (norm.op !== "LayerNormalization" && !isSkip(norm)) continue;
    const skip = isSkip(norm);
    const [x, second, third, fourth, fifth] = norm.inputs;
    const [gName, bName, biasName] = skip ? [third, fourth, fifth] : [second, third, undefined];
    const [normed, , , sumOutput] = norm.outputs;
    const shape = x === undefined ? undefined : shapes.get(x);
    const channels = shape?.at(-1);
    if (!x || !normed || !shape || channels === undefined || !lastAxis(norm, shape.length)) continue;
    if (!skip && norm.outputs.length !== 1) continue;
    if (skip && (second === undefined || shapes.get(second)?.join() !== shape.join() || norm.outputs.slice(1, 3).some((o) => o !== ""))) continue;
    const [g, b, bias] = [gName, bName, biasName].map((name) => (name === undefined || name === "" ? undefined : constants.get(name)));
    if (!g || !isFloatVector(g, channels) || (b && !isFloatVector(b, channels)) || (biasName && (!bias || !isFloatVector(bias, channels)))) continue;
    const readers = denseReaders(norm, channels);
    if (!readers) continue;

    const rows = shape.slice(0, -1).reduce((a, d) => a * d, 1);
    const ones = added.once(`instance_norm_ones_${rows}`, () => filled(rows, 1));
    const zeros = added.once(`instance_norm_zeros_${rows}`, () => filled(rows, 0));
    // A skip layer norm's sum (input + skip + bias) in Adds of its own; the residual reads it too.
    const sumValue = sumOutput || `${normed}__sum`;
    const sum = skip && second ? sumNodes(x, second, bias?.name, sumValue, unbiased) : null;
    const normedInput = sum ? sumValue : x;
    replaced.set(norm, [
      ...(sum ?? []),
      { op: "Reshape", inputs: [normedInput, added.int64s("instance_norm_rows", [1, rows, channels])], outputs: [`${normed}__rows`] },
      { op: "InstanceNormalization", inputs: [`${normed}__rows`, ones.name, zeros.name], outputs: [`${normed}__rows_normed`], attributes: { epsilon: norm.attributes?.epsilon ?? { float: 1e-5 } } },
      { op: "Reshape", inputs: [`${normed}__rows_normed`, added.int64s("instance_norm_back", shape)], outputs: [normed] },
    ]);
    const scale = floats(g);
    const shift = b ? floats(b) : new Float32Array(channels);
    for (const { product, weight, biasAdd, bias: denseBias, biased } of readers) {
      const scaled = added.once(`${weight.name}__scaled_by_${g.name}`, () => scaledRows(weight, scale));
      const shifted = added.once(`${denseBias.name}__shifted_by_${b?.name ?? "nothing"}_through_${weight.name}`, () => shiftedBias(denseBias, shift, weight));
      replaced.set(product, { ...product, inputs: [product.inputs[0] ?? "", scaled.name] });
      replaced.set(biasAdd, { ...biasAdd, inputs: biasAdd.inputs.map((i) => (i === biased ? i : shifted.name)) });
    }
  }
  return withReplacements(graph, replaced, added);
}

interface DenseReader {
  readonly product: OnnxNode;
  readonly weight: OnnxTensor;
  readonly biasAdd: OnnxNode;
  readonly bias: OnnxTensor;
  /** The Add's input that is the product (the other is the bias). */
  readonly biased: string;
}

/** A dense layer's product without its bias, and the Reshape (keeping the channels last) between it and a skip layer norm: where the bias can go back. */
interface UnbiasedDense {
  readonly product: string;
  /** The Reshape's shape input; null where the product feeds the norm directly. */
  readonly shape: string | null;
}

/**
 * input + skip (+ bias), into `output`: the bias added first to whichever of the two a MatMul
 * made (fuse-skip-layer-norm.ts took the dense layer's bias), before the Reshape between them,
 * where onnxruntime's MatMulAddFusion takes it back into a Gemm: one Add pass left.
 */
function sumNodes(input: string, skip: string, bias: string | undefined, output: string, unbiased: (value: string) => UnbiasedDense | null): OnnxNode[] {
  if (!bias) return [{ op: "Add", inputs: [input, skip], outputs: [output] }];
  const [dense, other] = unbiased(input) ? [input, skip] : [skip, input];
  const product = unbiased(dense);
  const biased = `${output}__biased`;
  if (!product) {
    return [
      { op: "Add", inputs: [input, skip], outputs: [`${output}__unbiased`] },
      { op: "Add", inputs: [`${output}__unbiased`, bias], outputs: [output] },
    ];
  }
  const reshaped = product.shape ? [{ op: "Reshape", inputs: [`${biased}__flat`, product.shape], outputs: [biased] }] : [];
  return [
    { op: "Add", inputs: [product.product, bias], outputs: [product.shape ? `${biased}__flat` : biased] },
    ...reshaped,
    { op: "Add", inputs: [biased, other], outputs: [output] },
  ];
}

function lastAxis(norm: OnnxNode, rank: number): boolean {
  const axis = norm.attributes?.axis ?? -1;
  return axis === -1 || axis === rank - 1;
}

function isFloatVector(tensor: OnnxTensor, length: number): boolean {
  return tensor.type === OnnxType.float && tensor.dims.length === 1 && tensor.dims[0] === length;
}

function floats(tensor: OnnxTensor): Float32Array {
  return new Float32Array(tensor.data.slice().buffer);
}

function filled(length: number, value: number): Omit<OnnxTensor, "name"> {
  return { type: OnnxType.float, dims: [length], data: new Uint8Array(new Float32Array(length).fill(value).buffer) };
}

/** diag(scale) @ W: W's row k times scale[k]. */
function scaledRows(weight: OnnxTensor, scale: Float32Array): Omit<OnnxTensor, "name"> {
  const columns = weight.dims[1] ?? 0;
  const values = floats(weight).map((v, k) => v * (scale[Math.floor(k / columns)] ?? 0));
  return { type: OnnxType.float, dims: weight.dims, data: new Uint8Array(values.buffer) };
}

/** c + shift @ W, summed in float64. */
function shiftedBias(bias: OnnxTensor, shift: Float32Array, weight: OnnxTensor): Omit<OnnxTensor, "name"> {
  const w = floats(weight);
  const columns = weight.dims[1] ?? 0;
  const values = floats(bias).map((c, j) => {
    let sum = c;
    shift.forEach((s, k) => (sum += s * (w[k * columns + j] ?? 0)));
    return sum;
  });
  return { type: OnnxType.float, dims: bias.dims, data: new Uint8Array(values.buffer) };
}
