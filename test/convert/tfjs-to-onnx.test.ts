import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertTfjsModel } from "../../src/convert/convert-tfjs-model.js";
import { matmulPlan } from "../../src/convert/einsum.js";
import { flattenDenseBiases } from "../../src/convert/flatten-dense-biases.js";
import { fuseConvBiases } from "../../src/convert/fuse-conv-bias.js";
import { fuseGelus } from "../../src/convert/fuse-gelu.js";
import { fuseLayerNorms } from "../../src/convert/fuse-layer-norm.js";
import { fusePointwiseConvs } from "../../src/convert/fuse-pointwise-conv.js";
import { fuseSwappedDenses } from "../../src/convert/fuse-swapped-dense.js";
import { readTfjsGraph } from "../../src/convert/tfjs-graph.js";
import { tfjsToOnnx } from "../../src/convert/tfjs-to-onnx.js";
import { createOnnxEngine } from "../../src/engine/onnx-engine.js";
import type { TfAttr } from "../../src/convert/tfjs-graph.js";

/*
 * Tiny TensorFlow.js graph models written by hand (model.json and one weight shard), each run
 * by tfjs's CPU backend and by onnxruntime on the converted graph: the same outputs, at two
 * input sizes (the graphs are shape-polymorphic, as jax2tf's are).
 */

type Dtype = "float32" | "int32";
interface Weight {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly values: readonly number[];
}
interface Spec {
  readonly input: { readonly shape: readonly number[] };
  readonly weights: Readonly<Record<string, Weight>>;
  readonly nodes: readonly { name: string; op: string; input: readonly string[]; attr?: Record<string, TfAttr> }[];
  readonly outputs: readonly string[];
}

const DT = { float32: "DT_FLOAT", int32: "DT_INT32" } as const;
const T = (dtype: Dtype = "float32") => ({ T: { type: DT[dtype] } });
const s = (text: string): TfAttr => ({ s: Buffer.from(text).toString("base64") });
const i = (n: number): TfAttr => ({ i: String(n) });
const ints = (list: readonly number[]): TfAttr => ({ list: { i: list.map(String) } });
const f32 = (shape: readonly number[], seed: number): Weight => ({
  dtype: "float32",
  shape,
  values: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, k) => Math.sin(seed + k * 1.7) * 0.8),
});
const i32 = (values: readonly number[], shape: readonly number[] = [values.length]): Weight => ({ dtype: "int32", shape, values });

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tfjs-to-onnx-"));
  await tf.setBackend("cpu");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `spec` as a graph model in its own folder; returns model.json's path and what tfjs loads. */
function writeModel(name: string, spec: Spec) {
  const names = Object.keys(spec.weights);
  const weights = names.map((n) => ({ name: n, shape: [...(spec.weights[n]?.shape ?? [])], dtype: spec.weights[n]?.dtype ?? "float32" }));
  const data = Buffer.concat(
    names.map((n) => {
      const w = spec.weights[n];
      if (!w) throw new Error(n);
      return Buffer.from((w.dtype === "float32" ? Float32Array.from(w.values) : Int32Array.from(w.values)).buffer);
    }),
  );
  const nodes = [
    { name: "x", op: "Placeholder", attr: { dtype: { type: "DT_FLOAT" }, shape: { shape: { dim: spec.input.shape.map((d) => ({ size: String(d) })) } } } },
    ...names.map((n) => ({ name: n, op: "Const", attr: { dtype: { type: DT[spec.weights[n]?.dtype ?? "float32"] }, value: { tensor: {} } } })),
    ...spec.nodes,
  ];
  const tensorShape = { dim: spec.input.shape.map((d) => ({ size: String(d) })) };
  const signature = {
    inputs: { x: { name: "x:0", dtype: "DT_FLOAT", tensorShape } },
    outputs: Object.fromEntries(spec.outputs.map((o) => [o, { name: `${o}:0`, dtype: "DT_FLOAT" }])),
  };
  const json = { format: "graph-model", generatedBy: "test", convertedBy: "test", modelTopology: { node: nodes, versions: { producer: 1808 } }, signature, weightsManifest: [{ paths: [`${name}.bin`], weights }] };
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(json));
  writeFileSync(join(dir, `${name}.bin`), data);
  return { path: join(dir, `${name}.json`), artifacts: { ...json, weightSpecs: weights, weightData: new Uint8Array(data).buffer } };
}

/**
 * Runs `spec` on tfjs-cpu and, converted, on onnxruntime, for inputs of each shape; compares
 * every output. `fixed`: converted for each shape, its shape arithmetic folded at conversion.
 */
async function expectSame(name: string, spec: Spec, shapes: readonly (readonly number[])[], fixed = false) {
  const { path, artifacts } = writeModel(name, spec);
  const model = await tf.loadGraphModel({ load: async () => artifacts });
  for (const shape of shapes) {
    const session = await ort.InferenceSession.create(await convertTfjsModel(path, fixed ? { inputShapes: { x: shape } } : {}));
    const size = shape.reduce((a, b) => a * b, 1);
    const x = Float32Array.from({ length: size }, (_, k) => Math.sin(k * 0.73) * 1.5 + (k % 5 === 0 ? 1 : 0));
    // tfjs gives a lone tensor, not a list, for a single output.
    const result = model.execute({ x: tf.tensor(x, [...shape]) }, [...spec.outputs]);
    const expected = Array.isArray(result) ? result : [result];
    const actual = await session.run({ x: new ort.Tensor("float32", x, [...shape]) });
    spec.outputs.forEach((output, k) => {
      const want = expected[k];
      const got = actual[output];
      if (!want || !got) throw new Error(`${name}: no output ${output}`);
      expect(got.dims, `${name} ${output} at ${shape.join("x")}: shape`).toEqual(want.shape);
      const wantValues = Array.from(want.dataSync());
      const gotValues = Array.from(got.data as Float32Array | BigInt64Array | Uint8Array, Number);
      wantValues.forEach((v, j) => expect(gotValues[j], `${name} ${output}[${j}] at ${shape.join("x")}`).toBeCloseTo(v, 4));
    });
    await session.release();
  }
}

describe.each([false, true])("tfjs graph model to ONNX (input size fixed at conversion: %s)", (fixed) => {
  it("element-wise ops, comparisons and selection agree with tfjs", async () => {
    const unary = (name: string, op: string, input = "x") => ({ name, op, input: [input], attr: T() });
    const binary = (name: string, op: string, a: string, b: string, dtype: Dtype = "float32") => ({ name, op, input: [a, b], attr: T(dtype) });
    await expectSame(
      "elementwise",
      {
        input: { shape: [-1, 3] },
        weights: { zero: f32([], 0), one: { dtype: "float32", shape: [], values: [1] }, three: { dtype: "float32", shape: [3], values: [3, -2, 0.5] } },
        nodes: [
          binary("zeroed", "Mul", "zero", "zero"),
          unary("square", "Square"),
          unary("abs", "Abs"),
          binary("abs1", "AddV2", "abs", "one"),
          unary("rsqrt", "Rsqrt", "abs1"),
          unary("reciprocal", "Reciprocal", "abs1"),
          unary("tanh", "Tanh"),
          unary("neg", "Neg"),
          unary("exp", "Exp", "neg"),
          binary("scaled", "Mul", "x", "three"),
          unary("floor", "Floor", "scaled"),
          unary("sign", "Sign"),
          binary("max", "Maximum", "x", "zeroed"),
          binary("min", "Minimum", "x", "zeroed"),
          binary("div", "RealDiv", "x", "three"),
          binary("sub", "Sub", "x", "one"),
          binary("floordiv", "FloorDiv", "x", "three"),
          binary("floormod", "FloorMod", "x", "three"),
          { name: "ge", op: "GreaterEqual", input: ["x", "zeroed"], attr: T() },
          { name: "ne", op: "NotEqual", input: ["x", "one"], attr: T() },
          { name: "both", op: "LogicalAnd", input: ["ge", "ne"] },
          { name: "select", op: "SelectV2", input: ["both", "square", "neg"], attr: T() },
          { name: "lt", op: "Less", input: ["x", "zeroed"], attr: T() },
          { name: "le", op: "LessEqual", input: ["x", "one"], attr: T() },
          { name: "gt", op: "Greater", input: ["x", "one"], attr: T() },
          { name: "lt_f", op: "Cast", input: ["lt"], attr: { SrcT: { type: "DT_BOOL" }, DstT: { type: "DT_FLOAT" } } },
          { name: "le_f", op: "Cast", input: ["le"], attr: { SrcT: { type: "DT_BOOL" }, DstT: { type: "DT_FLOAT" } } },
          { name: "gt_f", op: "Cast", input: ["gt"], attr: { SrcT: { type: "DT_BOOL" }, DstT: { type: "DT_FLOAT" } } },
        ],
        outputs: ["rsqrt", "reciprocal", "tanh", "exp", "floor", "sign", "max", "min", "div", "sub", "floordiv", "floormod", "select", "lt_f", "le_f", "gt_f"],
      },
      [[4, 3], [7, 3]],
      fixed,
    );
  });

  it("NHWC convolutions (SAME and VALID, stride 1 and 2) and VALID transposed convolutions agree with tfjs", async () => {
    const conv = (name: string, input: string, filter: string, stride: number, padding: string) => ({
      name,
      op: "Conv2D",
      input: [input, filter],
      attr: { ...T(), strides: ints([1, stride, stride, 1]), dilations: ints([1, 1, 1, 1]), padding: s(padding), data_format: s("NHWC"), explicit_paddings: ints([]) },
    });
    const pick = (name: string, index: number) => ({
      name,
      op: "StridedSlice",
      input: ["shape", `at${index}`, `at${index + 1}`, "one"],
      attr: { ...T("int32"), Index: { type: "DT_INT32" }, shrink_axis_mask: i(1), begin_mask: i(0), end_mask: i(0), ellipsis_mask: i(0), new_axis_mask: i(0) },
    });
    await expectSame(
      "convolutions",
      {
        input: { shape: [-1, -1, -1, 2] },
        weights: {
          k3: f32([3, 3, 2, 4], 1),
          k2: f32([2, 2, 4, 3], 2),
          up: f32([2, 2, 5, 3], 3), // (kh, kw, out, in)
          at0: i32([0]),
          at1: i32([1]),
          at2: i32([2]),
          at3: i32([3]),
          one: i32([1]),
          two: i32([2], []),
          five: i32([5], []),
        },
        nodes: [
          conv("same2", "x", "k3", 2, "SAME"),
          conv("valid1", "same2", "k2", 1, "VALID"),
          { name: "shape", op: "Shape", input: ["valid1"], attr: { ...T(), out_type: { type: "DT_INT32" } } },
          pick("n", 0),
          pick("h", 1),
          pick("w", 2),
          { name: "h2", op: "Mul", input: ["h", "two"], attr: T("int32") },
          { name: "w2", op: "Mul", input: ["w", "two"], attr: T("int32") },
          { name: "sizes", op: "Pack", input: ["n", "h2", "w2", "five"], attr: { ...T("int32"), axis: i(0), N: i(4) } },
          {
            name: "upsampled",
            op: "Conv2DBackpropInput",
            input: ["sizes", "up", "valid1"],
            attr: { ...T(), strides: ints([1, 2, 2, 1]), dilations: ints([1, 1, 1, 1]), padding: s("VALID"), data_format: s("NHWC"), explicit_paddings: ints([]) },
          },
        ],
        outputs: ["same2", "valid1", "upsampled"],
      },
      [[1, 7, 9, 2], [2, 8, 6, 2]],
      fixed,
    );
  });

  it("Einsum: MAXIM's three equations as MatMul, others as ONNX Einsum, agree with tfjs", async () => {
    const einsum = (name: string, equation: string, a: string, b: string) => ({ name, op: "Einsum", input: [a, b], attr: { ...T(), equation: s(equation), N: i(2) } });
    await expectSame(
      "einsum",
      {
        input: { shape: [-1, 4, 5, 6] },
        weights: { wLast: f32([6, 7], 4), wThird: f32([5, 3], 5), wFirst: f32([4, 2], 6) },
        nodes: [
          { name: "tanh", op: "Tanh", input: ["x"], attr: T() },
          einsum("last", "abcg,gf->abcf", "x", "wLast"),
          einsum("third", "abgd,gf->abdf", "x", "wThird"),
          einsum("first", "gb,cgef->bcef", "wFirst", "x"),
          einsum("dot", "abcd,abcd->abc", "x", "tanh"),
        ],
        outputs: ["last", "third", "first", "dot"],
      },
      [[1, 4, 5, 6], [2, 4, 5, 6]],
      fixed,
    );
    expect(matmulPlan("abcg,gf->abcf")).toEqual({ matrixFirst: false, tensorPerm: [0, 1, 2, 3], matrixTransposed: false, outputPerm: [0, 1, 2, 3] });
    expect(matmulPlan("gb,cgef->bcef")).toEqual({ matrixFirst: true, tensorPerm: [0, 2, 3, 1], matrixTransposed: false, outputPerm: [3, 0, 1, 2] });
    expect(matmulPlan("abcd,abcd->abc")).toBeNull();
  });

  it("shape arithmetic on the input's size (as jax2tf writes it) agrees with tfjs", async () => {
    const int = (name: string, op: string, input: readonly string[], attr: Record<string, TfAttr> = {}) => ({ name, op, input, attr: { ...T("int32"), ...attr } });
    const slice = (name: string, input: string, b: string, e: string, st: string, masks: { begin?: number; end?: number; shrink?: number }, dtype: Dtype) => ({
      name,
      op: "StridedSlice",
      input: [input, b, e, st],
      attr: { ...T(dtype), Index: { type: "DT_INT32" }, shrink_axis_mask: i(masks.shrink ?? 0), begin_mask: i(masks.begin ?? 0), end_mask: i(masks.end ?? 0), ellipsis_mask: i(0), new_axis_mask: i(0) },
    });
    const toFloat = (name: string, input: string) => ({ name, op: "Cast", input: [input], attr: { SrcT: { type: "DT_INT32" }, DstT: { type: "DT_FLOAT" } } });
    await expectSame(
      "shapes",
      {
        input: { shape: [-1, 3] },
        weights: {
          at0: i32([0]),
          at1: i32([1]),
          last: i32([-1]),
          zeroEnd: i32([0]),
          one: i32([1]),
          minusThree: i32([-3], []),
          zeroS: i32([0], []),
          oneS: i32([1], []),
          four: i32([4], []),
          minusOne: i32([-1], []),
          perm: i32([1, 0]),
          axis1: i32([1]),
          axis0S: i32([0], []),
          axisLast: i32([-1], []),
          gather: i32([2, 0, 1]),
          b2: i32([0, 1]),
          s2: i32([1, 1]),
          rev: i32([-1, 1]),
        },
        nodes: [
          { name: "shape", op: "Shape", input: ["x"], attr: { ...T(), out_type: { type: "DT_INT32" } } },
          slice("rows", "shape", "at0", "at1", "one", { shrink: 1 }, "int32"),
          slice("cols", "shape", "last", "zeroEnd", "one", { shrink: 1 }, "int32"),
          int("fdiv", "FloorDiv", ["minusThree", "cols"]),
          int("fmod", "FloorMod", ["minusThree", "rows"]),
          int("neg", "Neg", ["fdiv"]),
          int("sign", "Sign", ["fmod"]),
          int("abs", "Abs", ["minusThree"]),
          int("bigger", "Maximum", ["rows", "abs"]),
          int("smaller", "Minimum", ["rows", "abs"]),
          int("diff", "Sub", ["bigger", "smaller"]),
          { name: "rowsBig", op: "Greater", input: ["rows", "abs"], attr: T("int32") },
          int("choice", "SelectV2", ["rowsBig", "neg", "sign"]),
          { name: "range", op: "Range", input: ["zeroS", "rows", "oneS"], attr: { Tidx: { type: "DT_INT32" } } },
          toFloat("rangeF", "range"),
          { name: "column", op: "ExpandDims", input: ["rangeF", "axisLast"], attr: { ...T(), Tdim: { type: "DT_INT32" } } },
          int("gridShape", "Pack", ["rows", "four"], { axis: i(0), N: i(2) }),
          { name: "grid", op: "BroadcastTo", input: ["column", "gridShape"], attr: { ...T(), Tidx: { type: "DT_INT32" } } },
          int("flatShape", "Pack", ["minusOne", "cols"], { axis: i(0), N: i(2) }),
          { name: "flat", op: "Reshape", input: ["x", "flatShape"], attr: { ...T(), Tshape: { type: "DT_INT32" } } },
          { name: "transposed", op: "Transpose", input: ["flat", "perm"], attr: { ...T(), Tperm: { type: "DT_INT32" } } },
          { name: "sums", op: "Sum", input: ["x", "axis1"], attr: { ...T(), Tidx: { type: "DT_INT32" }, keep_dims: { b: true } } },
          { name: "joined", op: "ConcatV2", input: ["x", "sums", "grid", "axisLast"], attr: { ...T(), N: i(3), Tidx: { type: "DT_INT32" } } },
          { name: "picked", op: "GatherV2", input: ["x", "gather", "axisLast"], attr: { Tparams: { type: "DT_FLOAT" }, Tindices: { type: "DT_INT32" }, Taxis: { type: "DT_INT32" }, batch_dims: i(0) } },
          { name: "squeezed", op: "Squeeze", input: ["sums"], attr: { ...T(), squeeze_dims: ints([-1]) } },
          int("upTo", "Pack", ["diff", "cols"], { axis: i(0), N: i(2) }),
          slice("head", "x", "b2", "upTo", "s2", {}, "float32"),
          slice("reversed", "x", "b2", "b2", "rev", { begin: 1, end: 3 }, "float32"),
          toFloat("choiceF", "choice"),
        ],
        outputs: ["grid", "transposed", "joined", "picked", "squeezed", "head", "reversed", "choiceF"],
      },
      [[4, 3], [6, 3]],
      fixed,
    );
  });
});

describe("an NHWC image network behind uint8 frames", () => {
  it("pads to the converted size, crops back, rounds and clips; the onnx engine runs it without state", async () => {
    // out = 2x - 0.25 per pixel, then the pixel work: clipped at 0 and 255.
    const { path } = writeModel("pixels", {
      input: { shape: [-1, -1, -1, 3] },
      weights: { two: { dtype: "float32", shape: [], values: [2] }, quarter: { dtype: "float32", shape: [], values: [0.25] } },
      nodes: [
        { name: "doubled", op: "Mul", input: ["x", "two"], attr: T() },
        { name: "shifted", op: "Sub", input: ["doubled", "quarter"], attr: T() },
      ],
      outputs: ["shifted"],
    });
    const model = join(dir, "pixels.onnx");
    writeFileSync(model, await convertTfjsModel(path, { inputShapes: { x: [1, 8, 16, 3] }, pixels: { height: 8, width: 16 } }));
    const engine = await createOnnxEngine({ model, scales: 1, stride: 8, threads: 1, provider: "cpu" });
    try {
      expect(engine.carriesState).toBe(false);
      const [height, width] = [5, 11];
      const rgb = Uint8Array.from({ length: height * width * 3 }, (_, k) => (k * 37) % 256);
      const [out] = await engine.run([{ rgb, state: null }], height, width);
      const expected = Array.from(rgb, (v) => Math.min(255, Math.max(0, Math.round(Math.fround(Math.fround(v / 255) * 2 - 0.25) * 255))));
      expect(Array.from(out?.rgb ?? [])).toEqual(expected);
    } finally {
      await engine.close();
    }
  });
});

describe("layer normalization as jax2tf writes it (mean of squares minus square of mean)", () => {
  const f = (name: string, op: string, input: readonly string[]) => ({ name, op, input, attr: T() });
  const sum = (name: string, input: string) => ({ name, op: "Sum", input: [input, "axisLast"], attr: { ...T(), Tidx: { type: "DT_INT32" }, keep_dims: { b: false } } });
  const reshape = (name: string, input: string) => ({ name, op: "Reshape", input: [input, "keepShape"], attr: { ...T(), Tshape: { type: "DT_INT32" } } });
  const spec: Spec = {
    input: { shape: [1, 4, 5, 8] },
    weights: {
      axisLast: i32([-1]),
      keepShape: i32([1, 4, 5, 1]),
      perChannel: { dtype: "float32", shape: [], values: [1 / 8] },
      zero: { dtype: "float32", shape: [], values: [0] },
      epsilon: { dtype: "float32", shape: [], values: [1e-6] },
      gamma: f32([1, 1, 1, 8], 1),
      beta: f32([1, 1, 1, 8], 2),
    },
    nodes: [
      sum("sum", "x"),
      f("mean", "Mul", ["sum", "perChannel"]),
      f("squares", "Square", ["x"]),
      sum("sumOfSquares", "squares"),
      f("meanOfSquares", "Mul", ["sumOfSquares", "perChannel"]),
      f("squareOfMean", "Square", ["mean"]),
      f("difference", "Sub", ["meanOfSquares", "squareOfMean"]),
      f("variance", "Maximum", ["zero", "difference"]),
      reshape("varianceShaped", "variance"),
      f("plusEpsilon", "AddV2", ["varianceShaped", "epsilon"]),
      f("inverse", "Rsqrt", ["plusEpsilon"]),
      f("scale", "Mul", ["inverse", "gamma"]),
      reshape("meanShaped", "mean"),
      f("centred", "Sub", ["x", "meanShaped"]),
      f("normalized", "Mul", ["centred", "scale"]),
      f("y", "AddV2", ["normalized", "beta"]),
    ],
    outputs: ["y"],
  };

  it("becomes one LayerNormalization node when the input size is fixed, and agrees with tfjs", async () => {
    const { path } = writeModel("layer-norm", spec);
    const graph = fuseLayerNorms(tfjsToOnnx(await readTfjsGraph(path), "layer-norm", { inputShapes: { x: [1, 4, 5, 8] } }));
    // Identity nodes name the graph's input and output.
    expect(graph.nodes.map((n) => n.op).filter((op) => op !== "Identity")).toEqual(["LayerNormalization"]);
    await expectSame("layer-norm", spec, [[1, 4, 5, 8]], true);
  });

  it("is left written out when it normalizes over another axis", async () => {
    const { path } = writeModel("other-axis", { ...spec, weights: { ...spec.weights, axisLast: i32([2]), keepShape: i32([1, 4, 1, 8]) }, input: { shape: [1, 4, 8, 8] } });
    const graph = fuseLayerNorms(tfjsToOnnx(await readTfjsGraph(path), "other-axis", { inputShapes: { x: [1, 4, 8, 8] } }));
    expect(graph.nodes.map((n) => n.op)).not.toContain("LayerNormalization");
  });
});

describe("a dense layer across a swapped axis (swapaxes, Dense, swapaxes back, as MAXIM's gMLP writes it)", () => {
  const dense = (name: string, input: string, weight: string) => ({ name, op: "Einsum", input: [input, weight], attr: { ...T(), equation: s("abcg,gf->abcf"), N: i(2) } });
  const swap = (name: string, input: string, perm: string) => ({ name, op: "Transpose", input: [input, perm], attr: { ...T(), Tperm: { type: "DT_INT32" } } });
  const add = (name: string, input: string, bias: string) => ({ name, op: "AddV2", input: [input, bias], attr: T() });
  const spec: Spec = {
    input: { shape: [-1, 4, 6, 5] },
    weights: {
      swap13: i32([0, 3, 2, 1]),
      swap23: i32([0, 1, 3, 2]),
      swap12: i32([0, 2, 1, 3]),
      overAxis1: f32([4, 3], 1),
      bias1: f32([3], 2),
      overAxis2: f32([6, 2], 3),
      bias2: f32([1, 1, 1, 2], 4),
    },
    nodes: [
      // Across axis 1: becomes a 1x1 convolution.
      swap("t1", "x", "swap13"),
      dense("d1", "t1", "overAxis1"),
      add("b1", "d1", "bias1"),
      swap("y1", "b1", "swap13"),
      // Across axis 2 (rank - 2): becomes a MatMul with the weight on the left.
      swap("t2", "x", "swap23"),
      dense("d2", "t2", "overAxis2"),
      add("b2", "d2", "bias2"),
      swap("y2", "b2", "swap23"),
      // Swapped back another way: left as it is.
      swap("t3", "x", "swap23"),
      dense("d3", "t3", "overAxis2"),
      swap("y3", "d3", "swap12"),
    ],
    outputs: ["y1", "y2", "y3"],
  };

  it("runs without its transposes, with the weight on the left, and agrees with tfjs", async () => {
    const { path } = writeModel("swapped-dense", spec);
    const graph = fuseSwappedDenses(tfjsToOnnx(await readTfjsGraph(path), "swapped-dense", { inputShapes: { x: [1, 4, 6, 5] } }));
    const ops = graph.nodes.map((n) => n.op).filter((op) => op !== "Identity");
    // Only y3's two transposes stay.
    expect(ops.filter((op) => op === "Transpose")).toHaveLength(2);
    expect(ops.filter((op) => op === "Conv")).toHaveLength(1);
    await expectSame("swapped-dense", spec, [[1, 4, 6, 5], [2, 4, 6, 5]], true);
    await expectSame("swapped-dense", spec, [[1, 4, 6, 5], [2, 4, 6, 5]], false);
  });
});

describe("GELU's tanh approximation as jax writes it", () => {
  const f = (name: string, op: string, input: readonly string[]) => ({ name, op, input, attr: T() });
  const scalar = (value: number): Weight => ({ dtype: "float32", shape: [], values: [value] });
  /** (0.5 * x) * (1 + tanh(sqrt(2/pi) * (x + (c * x) * (x * x)))), named after `y`. */
  const gelu = (y: string, cubic: string) => [
    f(`${y}_half`, "Mul", ["half", "x"]),
    f(`${y}_linear`, "Mul", [cubic, "x"]),
    f(`${y}_square`, "Mul", ["x", "x"]),
    f(`${y}_cube`, "Mul", [`${y}_linear`, `${y}_square`]),
    f(`${y}_inner`, "AddV2", ["x", `${y}_cube`]),
    f(`${y}_scaled`, "Mul", ["sqrt2OverPi", `${y}_inner`]),
    f(`${y}_tanh`, "Tanh", [`${y}_scaled`]),
    f(`${y}_plusOne`, "AddV2", ["one", `${y}_tanh`]),
    f(y, "Mul", [`${y}_half`, `${y}_plusOne`]),
  ];
  const spec: Spec = {
    input: { shape: [-1, 4, 5, 8] },
    weights: { half: scalar(0.5), one: scalar(1), sqrt2OverPi: scalar(Math.sqrt(2 / Math.PI)), cubic: scalar(0.044715), otherCubic: scalar(0.05) },
    // y2 is another function (another cubic term): left as it is.
    nodes: [...gelu("y", "cubic"), ...gelu("y2", "otherCubic")],
    outputs: ["y", "y2"],
  };

  it("becomes one FastGelu node, and agrees with tfjs", async () => {
    const { path } = writeModel("gelu", spec);
    const graph = fuseGelus(tfjsToOnnx(await readTfjsGraph(path), "gelu", { inputShapes: { x: [1, 4, 5, 8] } }));
    const ops = graph.nodes.map((n) => n.op);
    expect(ops.filter((op) => op === "FastGelu")).toHaveLength(1);
    expect(ops.filter((op) => op === "Tanh")).toHaveLength(1);
    await expectSame("gelu", spec, [[1, 4, 5, 8], [2, 4, 5, 8]], true);
  });
});

describe("convolutions as MAXIM's graph writes them: 1x1 ones, and a bias added after", () => {
  const conv = (name: string, input: string, filter: string) => ({
    name,
    op: "Conv2D",
    input: [input, filter],
    attr: { ...T(), strides: ints([1, 1, 1, 1]), dilations: ints([1, 1, 1, 1]), padding: s("SAME"), data_format: s("NHWC"), explicit_paddings: ints([]) },
  });
  const add = (name: string, input: string, bias: string) => ({ name, op: "AddV2", input: [input, bias], attr: T() });
  const spec: Spec = {
    input: { shape: [-1, 5, 6, 3] },
    weights: { k1: f32([1, 1, 3, 4], 1), b1: f32([1, 1, 1, 4], 2), k3: f32([3, 3, 4, 2], 3), b3: f32([2], 4), k1b: f32([1, 1, 4, 2], 5) },
    nodes: [
      // A 1x1 convolution and its bias: a MatMul and an Add.
      conv("pointwise", "x", "k1"),
      add("y1", "pointwise", "b1"),
      // A 3x3 convolution and its bias: the bias into the Conv.
      conv("spatial", "y1", "k3"),
      add("y2", "spatial", "b3"),
      // Read by two: the 1x1 convolution becomes a MatMul, the bias stays an Add.
      conv("shared", "y1", "k1b"),
      add("y3", "shared", "b3"),
    ],
    outputs: ["y2", "y3", "shared"],
  };

  it("run 1x1 ones as MatMul and take the bias into the convolution, and agree with tfjs", async () => {
    const { path } = writeModel("pointwise", spec);
    const graph = fuseConvBiases(fusePointwiseConvs(tfjsToOnnx(await readTfjsGraph(path), "pointwise", { inputShapes: { x: [1, 5, 6, 3] } })));
    const ops = graph.nodes.map((n) => n.op).filter((op) => op !== "Identity");
    expect(ops.filter((op) => op === "MatMul")).toHaveLength(2);
    expect(graph.nodes.filter((n) => n.op === "Conv").map((n) => n.inputs.length)).toEqual([3]);
    expect(ops.filter((op) => op === "Add")).toHaveLength(2);
    // Only the 3x3 convolution's pair of transposes (its filter's is folded by onnxruntime) stays.
    expect(ops.filter((op) => op === "Transpose")).toHaveLength(3);
    await expectSame("pointwise", spec, [[1, 5, 6, 3], [2, 5, 6, 3]], true);
  });
});

describe("a dense layer's bias as flax writes it, shaped (1, 1, 1, n)", () => {
  const dense = (name: string, input: string, weight: string) => ({ name, op: "Einsum", input: [input, weight], attr: { ...T(), equation: s("abcg,gf->abcf"), N: i(2) } });
  const add = (name: string, input: string, bias: string) => ({ name, op: "AddV2", input: [input, bias], attr: T() });
  const spec: Spec = {
    input: { shape: [-1, 4, 5, 6] },
    weights: { w: f32([6, 3], 1), b: f32([1, 1, 1, 3], 2) },
    nodes: [dense("d", "x", "w"), add("y", "d", "b")],
    outputs: ["y"],
  };

  it("takes the shape (n), which onnxruntime fuses with its MatMul into a Gemm, and agrees with tfjs", async () => {
    const { path } = writeModel("dense-bias", spec);
    const graph = flattenDenseBiases(tfjsToOnnx(await readTfjsGraph(path), "dense-bias", { inputShapes: { x: [1, 4, 5, 6] } }));
    const add = graph.nodes.find((n) => n.op === "Add");
    expect(graph.initializers.find((t) => t.name === add?.inputs[1])?.dims).toEqual([3]);
    await expectSame("dense-bias", spec, [[1, 4, 5, 6], [2, 4, 5, 6]], true);
    const optimized = join(dir, "dense-bias.optimized.onnx");
    const session = await ort.InferenceSession.create(await convertTfjsModel(path, { inputShapes: { x: [1, 4, 5, 6] } }), { graphOptimizationLevel: "all", optimizedModelFilePath: optimized });
    await session.release();
    expect(readFileSync(optimized).toString("latin1")).toContain("Gemm");
  });
});
