import ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../../src/convert/onnx-builder.js";
import { encodeModel, OnnxType, type OnnxGraph } from "../../src/convert/onnx-proto.js";
import { OPSET } from "../../src/convert/tfjs-to-onnx.js";
import { foldScalarAdds } from "../../src/convert/fold-scalar-adds.js";
import { denseBeforeResize } from "../../src/convert/dense-before-resize.js";
import { fuseLeakyRelus } from "../../src/convert/fuse-leaky-relu.js";
import { fuseSkipLayerNorms } from "../../src/convert/fuse-skip-layer-norm.js";
import { layerNormsAsInstanceNorms } from "../../src/convert/layer-norm-as-instance-norm.js";
import { pointwiseConvsAsGemm } from "../../src/convert/pointwise-conv-as-gemm.js";
import { productsAlongAxis } from "../../src/convert/product-along-axis.js";
import { quantizeDenses } from "../../src/convert/quantize-dense.js";
import { quantizeLeftProducts } from "../../src/convert/quantize-left-products.js";
import { splitConcatDenses } from "../../src/convert/split-concat-dense.js";
import { splitDenseOutputs } from "../../src/convert/split-dense-outputs.js";
import { int8Limit } from "../../src/model/integer-units.js";

/*
 * The converter's rewrites on small ONNX graphs written as the converter writes MAXIM's: each
 * graph run by onnxruntime before and after the rewrite, on the same input, with the same outputs.
 */

const floats = (dims: readonly number[], seed: number) => {
  const values = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, k) => Math.sin(seed + k * 1.3) * 0.7);
  return { type: OnnxType.float, dims, data: new Uint8Array(values.buffer) };
};

async function run(graph: OnnxGraph, input: Float32Array, dims: readonly number[]): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(encodeModel(graph, OPSET, "test"));
  const outputs = await session.run({ x: new ort.Tensor("float32", input, [...dims]) });
  await session.release();
  return graph.outputs.map((o) => outputs[o.name]?.data as Float32Array);
}

async function expectSameOutputs(before: OnnxGraph, after: OnnxGraph, dims: readonly number[], digits = 5) {
  const input = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, k) => Math.cos(k * 0.61) * 1.2);
  const [want, got] = [await run(before, input, dims), await run(after, input, dims)];
  want.forEach((values, k) => {
    expect(got[k]?.length).toBe(values.length);
    values.forEach((v, j) => expect(got[k]?.[j], `output ${k}[${j}]`).toBeCloseTo(v, digits));
  });
}

describe("a dense layer read only in slices of its last axis (jnp.split after Dense and GELU)", () => {
  const dims = [1, 3, 4, 6];
  const graph = (sliceAxis: number) => {
    const b = new GraphBuilder();
    const w = b.initializer({ name: "w", ...floats([6, 8], 1) });
    const bias = b.initializer({ name: "b", ...floats([8], 2) });
    const activated = b.add("FastGelu", [b.add("Add", [b.add("MatMul", ["x", w]), bias])]);
    // As the converter writes a StridedSlice: bounds on every axis.
    const [uEnd, vStart] = sliceAxis === 3 ? [[1, 3, 4, 4], [0, 0, 0, 4]] : [[1, 3, 2, 8], [0, 0, 2, 0]];
    const u = b.add("Slice", [activated, b.int64([0, 0, 0, 0]), b.int64(uEnd), b.int64([0, 1, 2, 3]), b.int64([1, 1, 1, 1])], {}, "u");
    const v = b.add("Slice", [activated, b.int64(vStart), b.int64([1, 3, 4, 8]), b.int64([0, 1, 2, 3]), b.int64([1, 1, 1, 1])], {}, "v");
    b.add("Mul", [u, v], {}, "y");
    const g = b.graph("split", [{ name: "x", type: OnnxType.float, dims }], [{ name: "y", type: OnnxType.float, dims: null }]);
    return { ...g, nodes: g.nodes.map((n) => (n.op === "FastGelu" ? { ...n, domain: "com.microsoft" } : n)) };
  };

  it("becomes one dense layer per slice, without the slices, computing the same", async () => {
    const before = graph(3);
    const after = splitDenseOutputs(before);
    const ops = after.nodes.map((n) => n.op);
    expect(ops).not.toContain("Slice");
    expect(ops.filter((op) => op === "MatMul")).toHaveLength(2);
    expect(ops.filter((op) => op === "FastGelu")).toHaveLength(2);
    await expectSameOutputs(before, after, dims);
  });

  it("is left as it is when the slices cut another axis", () => {
    const before = graph(2);
    expect(splitDenseOutputs(before)).toBe(before);
  });
});

describe("leaky ReLU as jax writes it (select(x >= 0, x, alpha * x))", () => {
  const dims = [1, 3, 4, 5];
  const graph = (threshold: number) => {
    const b = new GraphBuilder();
    const x = b.add("Identity", ["x"]);
    const scaled = b.add("Mul", [b.float(0.2), x]);
    b.add("Where", [b.add("GreaterOrEqual", [x, b.float(threshold)]), x, scaled], {}, "y");
    return b.graph("leaky", [{ name: "x", type: OnnxType.float, dims }], [{ name: "y", type: OnnxType.float, dims: null }]);
  };

  it("becomes one LeakyRelu, computing the same", async () => {
    const before = graph(0);
    const after = fuseLeakyRelus(before);
    expect(after.nodes.map((n) => n.op)).toEqual(["Identity", "LeakyRelu"]);
    await expectSameOutputs(before, after, dims);
  });

  it("is left as it is for another threshold", () => {
    const before = graph(0.5);
    expect(fuseLeakyRelus(before)).toBe(before);
  });
});

describe("a constant added after a bias (MAXIM's gating units' v + 1)", () => {
  const dims = [1, 4, 4, 2];
  const graph = () => {
    const b = new GraphBuilder();
    const left = b.add("Add", [b.add("MatMul", [b.initializer({ name: "w", ...floats([4, 4], 1) }), "x"]), b.initializer({ name: "b", ...floats([4, 1], 2) })]);
    b.add("Add", [left, b.float(1)], {}, "y1");
    const conv = b.add("Conv", ["x", b.initializer({ name: "k", ...floats([5, 4, 1, 1], 3) }), b.initializer({ name: "kb", ...floats([5], 4) })]);
    b.add("Add", [b.float(1), conv], {}, "y2");
    return b.graph("shift", [{ name: "x", type: OnnxType.float, dims }], [
      { name: "y1", type: OnnxType.float, dims: null },
      { name: "y2", type: OnnxType.float, dims: null },
    ]);
  };

  it("goes into that bias, computing the same", async () => {
    const before = graph();
    const after = foldScalarAdds(before);
    expect(after.nodes.map((n) => n.op)).toEqual(["MatMul", "Add", "Conv"]);
    await expectSameOutputs(before, after, dims);
  });
});

describe("a residual sum that a layer norm reads (x + Dense(y), then LayerNorm)", () => {
  const dims = [1, 3, 4, 6];
  const graph = () => {
    const b = new GraphBuilder();
    const product = b.add("MatMul", [b.add("Mul", ["x", b.float(0.5)]), b.initializer({ name: "w", ...floats([6, 6], 1) })]);
    const sum = b.add("Add", ["x", b.add("Add", [product, b.initializer({ name: "b", ...floats([6], 2) })])]);
    b.add("LayerNormalization", [sum, b.initializer({ name: "g", ...floats([6], 3) }), b.initializer({ name: "be", ...floats([6], 4) })], { axis: -1, epsilon: { float: 1e-6 } }, "y");
    // The sum read again, as the next residual reads it.
    b.add("Mul", [sum, b.float(2)], {}, "z");
    return b.graph("skip", [{ name: "x", type: OnnxType.float, dims }], [
      { name: "y", type: OnnxType.float, dims: null },
      { name: "z", type: OnnxType.float, dims: null },
    ]);
  };

  it("becomes one SkipLayerNormalization with the bias, computing the norm and the sum alike", async () => {
    const before = graph();
    const after = fuseSkipLayerNorms(before);
    const ops = after.nodes.map((n) => n.op);
    expect(ops).toContain("SkipLayerNormalization");
    expect(ops).not.toContain("LayerNormalization");
    expect(ops.filter((op) => op === "Add")).toHaveLength(0);
    await expectSameOutputs(before, after, dims);
  });
});

describe("a layer norm read by dense layers (MAXIM's gMLP and channel-attention inputs)", () => {
  const dims = [1, 3, 4, 6];
  const graph = (readers: "dense" | "dense and more") => {
    const b = new GraphBuilder();
    const normed = b.add("LayerNormalization", ["x", b.initializer({ name: "g", ...floats([6], 3) }), b.initializer({ name: "be", ...floats([6], 4) })], { axis: -1, epsilon: { float: 1e-6 } });
    // Two dense layers on one norm, as split-dense-outputs.ts leaves jnp.split's halves.
    b.add("Add", [b.add("MatMul", [normed, b.initializer({ name: "w1", ...floats([6, 5], 1) })]), b.initializer({ name: "c1", ...floats([5], 2) })], {}, "y");
    b.add("Add", [b.add("MatMul", [normed, b.initializer({ name: "w2", ...floats([6, 3], 5) })]), b.initializer({ name: "c2", ...floats([3], 6) })], {}, "z");
    if (readers === "dense and more") b.add("Mul", [normed, b.float(2)], {}, "u");
    const outputs = ["y", "z", ...(readers === "dense and more" ? ["u"] : [])];
    return b.graph("norm", [{ name: "x", type: OnnxType.float, dims }], outputs.map((name) => ({ name, type: OnnxType.float, dims: null })));
  };

  it("becomes an InstanceNormalization of its rows, with its scale and shift in the dense layers", async () => {
    const before = graph("dense");
    const after = layerNormsAsInstanceNorms(before);
    const ops = after.nodes.map((n) => n.op);
    expect(ops).toContain("InstanceNormalization");
    expect(ops).not.toContain("LayerNormalization");
    await expectSameOutputs(before, after, dims);
  });

  it("takes a skip layer norm too, its sum in Adds that the residual reads, and dense layers behind a Reshape", async () => {
    const b = new GraphBuilder();
    // The skip a dense layer's product, reshaped, whose bias the skip layer norm took.
    const y = b.add("Reshape", [b.add("MatMul", ["x", b.initializer({ name: "wy", ...floats([6, 6], 8) })]), b.int64([1, 12, 6])]);
    b.add("SkipLayerNormalization", ["x", y, b.initializer({ name: "g", ...floats([6], 3) }), b.initializer({ name: "be", ...floats([6], 4) }), b.initializer({ name: "bias", ...floats([6], 7) })], { epsilon: { float: 1e-6 } }, "normed");
    // As MAXIM's: the norm on (1, pixels, channels), its readers on the image's shape.
    const flat = b.add("Reshape", ["normed", b.int64([1, 3, 4, 6])]);
    b.add("Add", [b.add("MatMul", [flat, b.initializer({ name: "w", ...floats([6, 5], 1) })]), b.initializer({ name: "c", ...floats([5], 2) })], {}, "y");
    b.add("Mul", ["sum", b.float(2)], {}, "z");
    const rows = [1, 12, 6];
    const built = b.graph("skip", [{ name: "x", type: OnnxType.float, dims: rows }], ["y", "z"].map((name) => ({ name, type: OnnxType.float, dims: null })));
    // The builder's nodes have one output; the skip layer norm's fourth is the sum.
    const nodes = built.nodes.map((n) => (n.op === "SkipLayerNormalization" ? { ...n, domain: "com.microsoft", outputs: ["normed", "", "", "sum"] } : n));
    const before = { ...built, nodes };
    const after = layerNormsAsInstanceNorms(before);
    const ops = after.nodes.map((n) => n.op);
    expect(ops).toContain("InstanceNormalization");
    expect(ops).not.toContain("SkipLayerNormalization");
    const product = after.nodes.find((n) => n.op === "MatMul" && n.inputs[0] === "x")?.outputs[0];
    expect(after.nodes.find((n) => n.inputs.includes(product ?? ""))?.op, "the bias added to the product, for MatMulAddFusion").toBe("Add");
    await expectSameOutputs(before, after, rows);
  });

  it("stays a layer norm where anything else reads it", () => {
    const before = graph("dense and more");
    expect(layerNormsAsInstanceNorms(before).nodes.map((n) => n.op)).toContain("LayerNormalization");
  });
});

describe("a 1x1 convolution of one NCHW image (MAXIM's grid gating units)", () => {
  const graph = () => {
    const b = new GraphBuilder();
    b.add("Conv", ["x", b.initializer({ name: "k", ...floats([5, 4, 1, 1], 1) }), b.initializer({ name: "kb", ...floats([5], 2) })], {}, "y");
    b.add("Conv", ["x", b.initializer({ name: "k3", ...floats([2, 4, 3, 3], 3) })], { auto_pad: "SAME_UPPER" }, "z");
    return b.graph("gemm", [{ name: "x", type: OnnxType.float, dims: [1, 4, 3, 6] }], [
      { name: "y", type: OnnxType.float, dims: null },
      { name: "z", type: OnnxType.float, dims: null },
    ]);
  };

  it("is one Gemm on the same bytes, computing the same; a 3x3 one stays", async () => {
    const before = graph();
    const after = pointwiseConvsAsGemm(before);
    expect(after.nodes.map((n) => n.op)).toEqual(["Reshape", "Gemm", "Reshape", "Conv"]);
    await expectSameOutputs(before, after, [1, 4, 3, 6]);
  });
});

describe("a dense layer over a concatenation along the channels (MAXIM joining its grid and block branches)", () => {
  const dims = [1, 3, 4, 5];
  const graph = () => {
    const b = new GraphBuilder();
    const joined = b.add("Concat", ["x", b.add("Mul", ["x", b.float(-0.5)])], { axis: 3 });
    b.add("Add", [b.add("MatMul", [joined, b.initializer({ name: "w", ...floats([10, 7], 1) })]), b.initializer({ name: "b", ...floats([7], 2) })], {}, "y");
    return b.graph("concat", [{ name: "x", type: OnnxType.float, dims }], [{ name: "y", type: OnnxType.float, dims: null }]);
  };

  it("is two Gemms accumulating into one output, the bias in the first, without the Concat, computing the same", async () => {
    const before = graph();
    const after = splitConcatDenses(before);
    const ops = after.nodes.map((n) => n.op);
    expect(ops).not.toContain("Concat");
    expect(ops).not.toContain("Add");
    expect(ops.filter((op) => op === "Gemm")).toHaveLength(2);
    await expectSameOutputs(before, after, dims);
  });
});

describe("a narrowing dense layer after a resize written as einsums (MAXIM's UpSampleRatio)", () => {
  const dims = [1, 4, 4, 6];
  const graph = (outChannels: number) => {
    const b = new GraphBuilder();
    const t = (x: string, perm: number[]) => b.add("Transpose", [x], { perm });
    const alongH = b.add("MatMul", [t("x", [0, 2, 3, 1]), b.initializer({ name: "rh", ...floats([4, 8], 1) })]);
    const alongW = b.add("MatMul", [t(t(alongH, [3, 0, 1, 2]), [0, 1, 3, 2]), b.initializer({ name: "rw", ...floats([4, 8], 2) })]);
    b.add("MatMul", [t(alongW, [1, 0, 3, 2]), b.initializer({ name: "w", ...floats([6, outChannels], 3) })], {}, "y");
    return b.graph("resize", [{ name: "x", type: OnnxType.float, dims }], [{ name: "y", type: OnnxType.float, dims: null }]);
  };

  it("runs first, so the resize carries fewer channels, computing the same", async () => {
    const before = graph(2);
    const after = denseBeforeResize(before);
    expect(after.nodes.map((n) => n.op)[0]).toBe("MatMul");
    expect(after.nodes).toHaveLength(before.nodes.length);
    await expectSameOutputs(before, after, dims);
  });

  it("is left where it is when it widens the channels", () => {
    const before = graph(9);
    expect(denseBeforeResize(before)).toBe(before);
  });

  it("then runs each axis' product without moving any axis, computing the same", async () => {
    const before = graph(2);
    const after = productsAlongAxis(denseBeforeResize(before));
    expect(after.nodes.map((n) => n.op)).not.toContain("Transpose");
    await expectSameOutputs(before, after, dims);
  });
});

describe("dense layers in int8 (--precision int8)", () => {
  const dims = [1, 3, 4, 64];
  const graph = () => {
    const b = new GraphBuilder();
    const wide = b.add("Add", [b.add("MatMul", ["x", b.initializer({ name: "w", ...floats([64, 8], 1) })]), b.initializer({ name: "b", ...floats([8], 2) })]);
    b.add("MatMul", [wide, b.initializer({ name: "narrow", ...floats([8, 4], 3) })], {}, "y");
    return b.graph("int8", [{ name: "x", type: OnnxType.float, dims }], [{ name: "y", type: OnnxType.float, dims: null }]);
  };

  it("become DynamicQuantizeMatMul with their bias where they have 64 inputs or more, near the fp32 result", async () => {
    const before = graph();
    const after = quantizeDenses(before, int8Limit());
    expect(after.nodes.map((n) => n.op)).toEqual(["DynamicQuantizeMatMul", "MatMul"]);
    await expectSameOutputs(before, after, dims, 0);
  });
});

describe("products with the weight on the left in int8 (MAXIM's gating units across cells and pixels)", () => {
  // Values without a pattern: sinusoids in step cancel along a product's rows, leaving sums near
  // zero beside which int8's rounding of each term looks large.
  const noise = (count: number, seed: number) => Float32Array.from({ length: count }, (_, k) => (((Math.sin((k + seed * 1000) * 12.9898) * 43758.5453) % 1) + 1) % 1 - 0.5);
  const noisy = (dims: readonly number[], seed: number) => ({ type: OnnxType.float, dims, data: new Uint8Array(noise(dims.reduce((a, b) => a * b, 1), seed).buffer) });

  /** Each output's largest difference from fp32 over fp32's largest magnitude: int8 rounds, so "close", not "same". */
  async function relativeErrors(before: OnnxGraph, after: OnnxGraph, dims: readonly number[]) {
    const input = noise(dims.reduce((a, b) => a * b, 1), 9);
    const [want, got] = [await run(before, input, dims), await run(after, input, dims)];
    return want.map((values, k) => {
      expect(got[k]?.length).toBe(values.length);
      const [scale, error] = values.reduce(([s, e], v, j) => [Math.max(s, Math.abs(v)), Math.max(e, Math.abs(v - (got[k]?.[j] as number)))], [0, 0]);
      return error / scale;
    });
  }
  // A resize's matrix: rows of three quarters and a quarter, summing to one.
  const interpolation = (rows: number, inputs: number) => {
    const values = new Float32Array(rows * inputs);
    for (let i = 0; i < rows; i++) [values[i * inputs + (i % inputs)], values[i * inputs + ((i + 1) % inputs)]] = [0.75, 0.25];
    return { type: OnnxType.float, dims: [rows, inputs], data: new Uint8Array(values.buffer) };
  };

  it("Gemm(W, x, bias column) and MatMul(W, x) + bias column become integer products near fp32; narrow ones and resizes stay fp32", async () => {
    const dims = [1, 2, 128, 6];
    const b = new GraphBuilder();
    const matrix = b.add("Reshape", ["x", b.int64([128, 12])]);
    const gemm = b.add("Gemm", [b.initializer({ name: "wg", ...noisy([16, 128], 1) }), matrix, b.initializer({ name: "bg", ...noisy([16, 1], 2) })]);
    b.add("Gemm", [b.initializer({ name: "narrow", ...noisy([8, 16], 3) }), gemm], {}, "y1");
    b.add("Add", [b.add("MatMul", [b.initializer({ name: "wm", ...noisy([16, 128], 4) }), "x"]), b.initializer({ name: "bm", ...noisy([16, 1], 5) })], {}, "y2");
    b.add("MatMul", [b.initializer({ name: "resize", ...interpolation(64, 128) }), "x"], {}, "y3");
    const before = b.graph("left", [{ name: "x", type: OnnxType.float, dims }], ["y1", "y2", "y3"].map((name) => ({ name, type: OnnxType.float, dims: null })));
    const after = quantizeLeftProducts(before, int8Limit());
    const ops = after.nodes.map((n) => n.op);
    expect(ops.filter((op) => op === "MatMulIntegerToFloat")).toHaveLength(2);
    expect(ops.filter((op) => op === "Gemm")).toHaveLength(1);
    expect(ops.filter((op) => op === "MatMul")).toHaveLength(1);
    expect(ops).not.toContain("Add");
    const [y1, y2, y3] = await relativeErrors(before, after, dims);
    // Measured: 0.5-0.8% (8-bit weights per row, x over its own range); the resize stays exact.
    expect(y1).toBeLessThan(0.02);
    expect(y2).toBeLessThan(0.02);
    expect(y3).toBeLessThan(1e-6);
  });

  it("leaves a graph without such products as it is", () => {
    const b = new GraphBuilder();
    b.add("MatMul", ["x", b.initializer({ name: "w", ...noisy([128, 4], 1) })], {}, "y");
    const before = b.graph("right", [{ name: "x", type: OnnxType.float, dims: [3, 128] }], [{ name: "y", type: OnnxType.float, dims: null }]);
    expect(quantizeLeftProducts(before)).toBe(before);
  });
});

describe("int8 products on this CPU (int8Limit: 127 with VNNI or AMX, else 63)", () => {
  // Every input and weight at its largest, of one sign: each pair of products a kernel sums is
  // 2 x 255 x 127 at 127, past the 32,767 of AVX2's 16-bit sums (measured: half the answer).
  const constant = (dims: readonly number[], value: number) => ({ type: OnnxType.float, dims, data: new Uint8Array(new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(value).buffer) });
  /** Inputs all 1: fp32 gives `want` everywhere, and int8 within 2% of it. */
  const nearFp32 = async (before: OnnxGraph, after: OnnxGraph, dims: readonly number[], want: number) => {
    const ones = new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(1);
    const [[fp32], [got]] = [await run(before, ones, dims), await run(after, ones, dims)];
    expect(fp32?.[0]).toBeCloseTo(want, 3);
    expect(got?.length).toBeGreaterThan(0);
    for (const value of got ?? []) expect(Math.abs(value - want) / want).toBeLessThan(0.02);
  };

  it("a dense layer (DynamicQuantizeMatMul) at the largest values comes out as fp32 does", async () => {
    const b = new GraphBuilder();
    b.add("MatMul", ["x", b.initializer({ name: "w", ...constant([128, 4], 0.5) })], {}, "y");
    const before = b.graph("dense", [{ name: "x", type: OnnxType.float, dims: [2, 128] }], [{ name: "y", type: OnnxType.float, dims: null }]);
    const after = quantizeDenses(before, int8Limit());
    expect(after.nodes.map((n) => n.op)).toEqual(["DynamicQuantizeMatMul"]);
    await nearFp32(before, after, [2, 128], 64);
  });

  it("a product with the weight on the left (MatMulIntegerToFloat) at the largest values comes out as fp32 does", async () => {
    const b = new GraphBuilder();
    b.add("MatMul", [b.initializer({ name: "w", ...constant([4, 128], 0.5) }), "x"], {}, "y");
    const before = b.graph("left", [{ name: "x", type: OnnxType.float, dims: [128, 6] }], [{ name: "y", type: OnnxType.float, dims: null }]);
    const after = quantizeLeftProducts(before, int8Limit());
    expect(after.nodes.map((n) => n.op)).toContain("MatMulIntegerToFloat");
    await nearFp32(before, after, [128, 6], 64);
  });
});
