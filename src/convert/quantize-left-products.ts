import { symmetricInt8, type Int8Limit } from "./symmetric-int8.js";
import { AddedInitializers, indexGraph, withReplacements } from "./graph-index.js";
import { graphShapes } from "./graph-shapes.js";
import { OnnxType, type OnnxGraph, type OnnxNode, type OnnxTensor } from "./onnx-proto.js";

/**
 * Below this many inputs a product with the constant on the left gained nothing from 8-bit
 * integers on the dev machine (AVX512-VNNI, AMX-INT8): (64 x 64) @ (64 x 10240) took 1.5 ms in
 * int8 against 1.4 in fp32, the passes over X costing what the products saved.
 */
const MIN_INPUTS = 128;

/**
 * A product with a constant weight on the LEFT, y = W @ X (+ b per row), as MAXIM's gating units
 * write their dense layers across the grid cells and the block pixels (pointwise-conv-as-gemm.ts's
 * Gemm, fuse-swapped-dense.ts's MatMul; W (n, k), X (k, m) or (..., k, m)), in 8-bit integers:
 *
 *   s  = max|X| / limit                                   (ReduceMax, ReduceMin: reads, no writes)
 *   y  = BatchNormalization(MatMulIntegerToFloat(Wq, QuantizeLinear(X, s), 1, s), w_scale, b)
 *
 * DynamicQuantizeMatMul (quantize-dense.ts) takes the weight on the right only. onnxruntime's
 * fast integer product is uint8 on the left times int8 on the right (uint8 times uint8 ran no
 * faster than fp32, and an int8 left has no kernel), so W is stored as uint8 around 128 and X is
 * quantized symmetric to int8, to -limit..limit (int8Limit: 127, or 63 on a CPU without VNNI,
 * whose kernels would overflow 16 bits). MatMulIntegerToFloat scales its left operand by one number only;
 * W's scale per row (its largest magnitude over 127), and the row's bias, come after as the
 * channels' affine of a BatchNormalization over the rows, one pass like the Add of the bias it
 * replaces. Interpolation matrices (the resizes' products, non-negative rows summing to one)
 * stay fp32: 8 bits would round their exact fractions (a quarter, next to three quarters,
 * becomes 42/127 of them), a bias on every resized pixel. Shapes the graph does not tell are
 * left as they are.
 */
export function quantizeLeftProducts(graph: OnnxGraph, limit: Int8Limit = 127): OnnxGraph {
  const { constants, onlyConsumer, split } = indexGraph(graph);
  const shapes = graphShapes(graph);
  const replaced = new Map<OnnxNode, OnnxNode[]>();
  const added = new AddedInitializers();
  const int64s = (values: readonly number[]) => added.int64s("left_int8_shape", values);
  const scalar = (name: string, type: OnnxType, data: Uint8Array) => added.once(name, () => ({ type, dims: [], data })).name;
  const [one, inverseLimit, zero, eps] = [
    scalar("left_int8_one", OnnxType.float, new Uint8Array(Float32Array.of(1).buffer)),
    scalar(`left_int8_inv${limit}`, OnnxType.float, new Uint8Array(Float32Array.of(1 / limit).buffer)),
    scalar("left_int8_zero", OnnxType.int8, Uint8Array.of(0)),
    // An X of zeros would make its scale 0, and QuantizeLinear divide by it.
    scalar("left_int8_tiny", OnnxType.float, new Uint8Array(Float32Array.of(1e-30).buffer)),
  ];
  for (const product of graph.nodes) {
    const match = matchLeftProduct(product);
    if (!match) continue;
    const { weight, x, biasColumn, add, out } = match;
    const n = weight.dims[0] as number;
    const quantized = quantizedRows(weight, biasColumn, added);
    const [y] = (add ?? product).outputs as [string];
    const last = out.at(-1) as number;
    const rows = out.length === 2 ? [1, n, last] : [out.slice(0, -2).reduce((a, d) => a * d, 1), n, last];
    const v = (suffix: string) => `${y}__left_int8_${suffix}`;
    replaced.set(product, [
      { op: "ReduceMax", inputs: [x], outputs: [v("max")], attributes: { keepdims: 0 } },
      { op: "ReduceMin", inputs: [x], outputs: [v("min")], attributes: { keepdims: 0 } },
      { op: "Neg", inputs: [v("min")], outputs: [v("neg_min")] },
      { op: "Max", inputs: [v("max"), v("neg_min"), eps], outputs: [v("magnitude")] },
      { op: "Mul", inputs: [v("magnitude"), inverseLimit], outputs: [v("scale")] },
      { op: "QuantizeLinear", inputs: [x, v("scale"), zero], outputs: [v("x")] },
      {
        op: "MatMulIntegerToFloat",
        domain: "com.microsoft",
        inputs: [quantized.weight, v("x"), one, v("scale"), quantized.zero],
        outputs: [v("product")],
      },
      { op: "Reshape", inputs: [v("product"), int64s(rows)], outputs: [v("rows")] },
      {
        op: "BatchNormalization",
        inputs: [v("rows"), quantized.scales, quantized.bias, quantized.mean, quantized.variance],
        outputs: [v("scaled")],
        attributes: { epsilon: { float: 0 } },
      },
      { op: "Reshape", inputs: [v("scaled"), int64s(out)], outputs: [y] },
    ]);
    if (add) replaced.set(add, []);
  }
  return withReplacements(graph, replaced, added);

  /** W @ X (Gemm with its bias column, or MatMul with an Add of one), W a learned float matrix of MIN_INPUTS inputs or more. */
  function matchLeftProduct(product: OnnxNode) {
    if (product.op !== "Gemm" && product.op !== "MatMul") return null;
    const [w, x, c] = product.inputs;
    const weight = w === undefined ? undefined : constants.get(w);
    const out = shapes.get(product.outputs[0] ?? "");
    if (!weight || x === undefined || constants.has(x) || !out || out.length < 2) return null;
    if (weight.type !== OnnxType.float || weight.dims.length !== 2 || (weight.dims[1] as number) < MIN_INPUTS || interpolation(weight)) return null;
    const n = weight.dims[0] as number;
    const isColumn = (t: OnnxTensor | undefined) => !!t && t.type === OnnxType.float && t.dims.length === 2 && t.dims[0] === n && t.dims[1] === 1;
    if (product.op === "Gemm") {
      const a = product.attributes ?? {};
      if ((a.transA ?? 0) !== 0 || (a.transB ?? 0) !== 0 || (a.alpha ?? 1) !== 1 || (a.beta ?? 1) !== 1 || out.length !== 2) return null;
      const column = c === undefined ? undefined : constants.get(c);
      if (c !== undefined && !isColumn(column)) return null;
      return { weight, x, biasColumn: column ?? null, add: null, out };
    }
    // MatMul: a bias column added after it goes into the same pass.
    const add = onlyConsumer(product, "Add");
    const bias = add && split(add);
    const column = bias && bias.value === product.outputs[0] && isColumn(bias.constant) ? bias.constant : null;
    const added = column && add ? shapes.get(add.outputs[0] ?? "") : undefined;
    const keepsShape = added !== undefined && added.length === out.length && added.every((d, i) => d === out[i]);
    return keepsShape ? { weight, x, biasColumn: column, add, out } : { weight, x, biasColumn: null, add: null, out };
  }
}

/** A resize's matrix: every weight non-negative and every row summing to one. */
function interpolation(weight: OnnxTensor): boolean {
  const [n, k] = weight.dims as [number, number];
  const values = new Float32Array(weight.data.slice().buffer);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const v = values[i * k + j] as number;
      if (v < 0) return false;
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-3) return false;
  }
  return true;
}

/**
 * W (n, k) as uint8 around 128 with one scale per row (symmetricInt8), and the
 * BatchNormalization that applies the scales and the bias (n, 1) per row: mean 0, variance 1.
 */
function quantizedRows(weight: OnnxTensor, biasColumn: OnnxTensor | null, added: AddedInitializers) {
  const [n, k] = weight.dims as [number, number];
  const { scale, values } = symmetricInt8(weight, "row");
  const floats = (name: string, data: Float32Array) => added.once(name, () => ({ type: OnnxType.float, dims: [n], data: new Uint8Array(data.buffer) })).name;
  const q = added.once(`${weight.name}__left_uint8`, () => ({
    type: OnnxType.uint8,
    dims: [n, k],
    data: Uint8Array.from(values, (v) => 128 + v),
  }));
  const zero = added.once("left_int8_weight_zero", () => ({ type: OnnxType.uint8, dims: [], data: Uint8Array.of(128) }));
  const bias = biasColumn ? new Float32Array(biasColumn.data.slice().buffer) : new Float32Array(n);
  return {
    weight: q.name,
    zero: zero.name,
    scales: floats(`${weight.name}__left_uint8_scales`, scale),
    bias: floats(`${biasColumn?.name ?? `${weight.name}__no`}__left_int8_bias`, bias),
    mean: floats(`left_int8_mean_${n}`, new Float32Array(n)),
    variance: floats(`left_int8_variance_${n}`, new Float32Array(n).fill(1)),
  };
}
