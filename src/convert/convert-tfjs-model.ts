import { basename, dirname } from "node:path";
import { encodeModel } from "./onnx-proto.js";
import { readTfjsGraph } from "./tfjs-graph.js";
import { OPSET, tfjsToOnnx, type ConvertOptions } from "./tfjs-to-onnx.js";

/** A TensorFlow.js graph model (model.json and its shards) as the bytes of an ONNX model computing the same. */
export async function convertTfjsModel(modelJson: string, options: ConvertOptions = {}): Promise<Uint8Array> {
  const graph = await readTfjsGraph(modelJson);
  return encodeModel(tfjsToOnnx(graph, basename(dirname(modelJson)), options), OPSET, "dsanet-stream tfjs-to-onnx");
}
