import { basename, dirname } from "node:path";
import { fuseGelus } from "./fuse-gelu.js";
import { fuseLayerNorms } from "./fuse-layer-norm.js";
import { fuseSwappedDenses } from "./fuse-swapped-dense.js";
import { withNhwcPixels } from "./nhwc-pixels.js";
import { encodeModel } from "./onnx-proto.js";
import { endingAt, readTfjsGraph } from "./tfjs-graph.js";
import { OPSET, tfjsToOnnx, type ConvertOptions } from "./tfjs-to-onnx.js";

const PRODUCER = "dsanet-stream tfjs-to-onnx";

/**
 * Names a converted graph's cache file: raised whenever a change alters what the converter
 * writes, so that graphs cached by an older converter are converted again (2: layer norms fused;
 * 3: dense layers across a swapped axis fused; 4: GELUs fused).
 */
export const CONVERTER_REVISION = 4;

/** Rewrites of what jax2tf writes out op by op into the kernels onnxruntime has for it, in order. */
const FUSIONS = [fuseLayerNorms, fuseSwappedDenses, fuseGelus];

export interface ModelOptions extends ConvertOptions {
  /** Wrap an NHWC image network of this padded size to take and give uint8 frames (nhwc-pixels.ts). */
  readonly pixels?: { readonly height: number; readonly width: number };
  /** End the graph at this inner tensor instead of its output (see endingAt). */
  readonly endAt?: string;
}

/** A TensorFlow.js graph model (model.json and its shards) as the bytes of an ONNX model computing the same. */
export async function convertTfjsModel(modelJson: string, options: ModelOptions = {}): Promise<Uint8Array> {
  const whole = await readTfjsGraph(modelJson);
  const graph = options.endAt ? endingAt(whole, options.endAt) : whole;
  const converted = FUSIONS.reduce((onnx, fuse) => fuse(onnx), tfjsToOnnx(graph, basename(dirname(modelJson)), options));
  const [input] = graph.inputs;
  const [output] = graph.outputs;
  if (!options.pixels) return encodeModel(converted, OPSET, PRODUCER);
  if (graph.inputs.length !== 1 || graph.outputs.length !== 1 || !input || !output) throw new Error(`${modelJson}: pixels wrap a graph of one input and one output`);
  return encodeModel(withNhwcPixels(converted, input.key, output.key, options.pixels.height, options.pixels.width), OPSET, PRODUCER);
}
