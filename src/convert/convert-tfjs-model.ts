import { basename, dirname } from "node:path";
import { denseBeforeResize } from "./dense-before-resize.js";
import { flattenDenseBiases } from "./flatten-dense-biases.js";
import { foldScalarAdds } from "./fold-scalar-adds.js";
import { fuseConvBiases } from "./fuse-conv-bias.js";
import { fuseGelus } from "./fuse-gelu.js";
import { fuseLayerNorms } from "./fuse-layer-norm.js";
import { fuseLeakyRelus } from "./fuse-leaky-relu.js";
import { fuseSkipLayerNorms } from "./fuse-skip-layer-norm.js";
import { fusePointwiseConvs } from "./fuse-pointwise-conv.js";
import { fuseSwappedDenses } from "./fuse-swapped-dense.js";
import { layerNormsAsInstanceNorms } from "./layer-norm-as-instance-norm.js";
import { withNhwcPixels } from "./nhwc-pixels.js";
import { encodeModel, type OnnxGraph } from "./onnx-proto.js";
import { pointwiseConvsAsGemm } from "./pointwise-conv-as-gemm.js";
import { productsAlongAxis } from "./product-along-axis.js";
import { quantizeDenses } from "./quantize-dense.js";
import { quantizeLeftProducts } from "./quantize-left-products.js";
import { splitConcatDenses } from "./split-concat-dense.js";
import { splitDenseOutputs } from "./split-dense-outputs.js";
import type { Int8Limit } from "./symmetric-int8.js";
import { endingAt, readTfjsGraph } from "./tfjs-graph.js";
import { OPSET, tfjsToOnnx, type ConvertOptions } from "./tfjs-to-onnx.js";

const PRODUCER = "dsanet-stream tfjs-to-onnx";

/**
 * Names a converted graph's cache file: raised whenever a change alters what the converter
 * writes, so that graphs cached by an older converter are converted again (2: layer norms fused;
 * 3: dense layers across a swapped axis fused; 4: GELUs fused; 5: issue 36's first rewrites, 1x1
 * convolutions as MatMul, biases where onnxruntime fuses them, split dense layers, leaky ReLU;
 * 6: all of REWRITES as they stand, skip layer norms, Gemms for the grid gating and the
 * concatenations, the resizes narrowed first and without transposes; 7: int8 graphs take the
 * products with the weight on the left too, fp32 graphs are as in 6; 8: the layer norms that
 * dense layers read as instance norms). A graph of revision 5 may come from any commit between
 * the two.
 */
export const CONVERTER_REVISION = 8;

/** A rewrite of a converted graph into one onnxruntime runs faster, computing the same. */
export type GraphRewrite = (graph: OnnxGraph) => OnnxGraph;

/**
 * The converter's rewrites of what jax2tf writes out op by op into the kernels onnxruntime has
 * for it, in the order they run, by name (benchmarks convert with a prefix of them to measure each).
 */
export const REWRITES: readonly (readonly [string, GraphRewrite])[] = [
  ["layer-norm", fuseLayerNorms],
  ["swapped-dense", fuseSwappedDenses],
  ["gelu", fuseGelus],
  ["pointwise-conv", fusePointwiseConvs],
  ["conv-bias", fuseConvBiases],
  ["dense-bias", flattenDenseBiases],
  ["split-dense", splitDenseOutputs],
  ["leaky-relu", fuseLeakyRelus],
  ["scalar-add", foldScalarAdds],
  ["skip-layer-norm", fuseSkipLayerNorms],
  ["grid-dense-gemm", pointwiseConvsAsGemm],
  ["concat-dense", splitConcatDenses],
  ["dense-before-resize", denseBeforeResize],
  ["axis-product", productsAlongAxis],
  ["instance-norm", layerNormsAsInstanceNorms],
];

/**
 * int8's rewrites, after the others: the products with the weight on the left first (they read
 * graph-shapes.ts, which knows none of the integer ops), then the dense layers with it on the right.
 */
const int8Rewrites = (limit: Int8Limit): readonly GraphRewrite[] => [(graph) => quantizeLeftProducts(graph, limit), (graph) => quantizeDenses(graph, limit)];

export interface ModelOptions extends ConvertOptions {
  /** Wrap an NHWC image network of this padded size to take and give uint8 frames (nhwc-pixels.ts). */
  readonly pixels?: { readonly height: number; readonly width: number };
  /** End the graph at this inner tensor instead of its output (see endingAt). */
  readonly endAt?: string;
  /** The rewrites to run, in order; default: all of REWRITES. */
  readonly rewrites?: readonly GraphRewrite[];
  /** int8: dense layers' products in 8-bit integers after the rewrites (quantize-left-products.ts, quantize-dense.ts); default fp32. */
  readonly precision?: Precision;
  /** int8's largest magnitude, for the CPU that will run the graph (int8Limit); default 127. */
  readonly int8Limit?: Int8Limit;
}

/** What the graph computes its products in: fp32 throughout, or int8 dense layers where they pay. */
export type Precision = "fp32" | "int8";

/** A TensorFlow.js graph model (model.json and its shards) as the bytes of an ONNX model computing the same. */
export async function convertTfjsModel(modelJson: string, options: ModelOptions = {}): Promise<Uint8Array> {
  const whole = await readTfjsGraph(modelJson);
  const graph = options.endAt ? endingAt(whole, options.endAt) : whole;
  const rewrites = [...(options.rewrites ?? REWRITES.map(([, rewrite]) => rewrite)), ...(options.precision === "int8" ? int8Rewrites(options.int8Limit ?? 127) : [])];
  const converted = rewrites.reduce((onnx, rewrite) => rewrite(onnx), tfjsToOnnx(graph, basename(dirname(modelJson)), options));
  const [input] = graph.inputs;
  const [output] = graph.outputs;
  if (!options.pixels) return encodeModel(converted, OPSET, PRODUCER);
  if (graph.inputs.length !== 1 || graph.outputs.length !== 1 || !input || !output) throw new Error(`${modelJson}: pixels wrap a graph of one input and one output`);
  return encodeModel(withNhwcPixels(converted, input.key, output.key, options.pixels.height, options.pixels.width), OPSET, PRODUCER);
}
