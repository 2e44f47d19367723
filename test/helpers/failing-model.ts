import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { GraphBuilder } from "../../src/convert/onnx-builder.js";
import { OnnxType, encodeModel } from "../../src/convert/onnx-proto.js";
import { WORK } from "./clips.js";

/** The first pixel value that makes `failingModel`'s graph fail. */
export const FAILS_AT = 200;

/**
 * A model file that passes frames through unchanged until a frame holds a value of `FAILS_AT`
 * or more, and then fails in onnxruntime (a Gather out of its table's bounds): an engine that
 * breaks mid-stream, after the stages around it have started, as a corrupt model or a driver
 * fault would. A clip that turns bright at some frame decides when.
 */
export function failingModel(): string {
  const g = new GraphBuilder();
  const brightest = g.add("ReduceMax", ["rgb"], { keepdims: 0 });
  const index = g.add("Reshape", [g.add("Cast", [brightest], { to: OnnxType.int64 }), g.int64([1])]);
  // A table of FAILS_AT entries, each -1: Reshape's "all in one dimension".
  const table = g.int64(Array.from({ length: FAILS_AT }, () => -1));
  const flat = g.add("Reshape", ["rgb", g.add("Gather", [table, index])]);
  g.add("Reshape", [flat, g.add("Shape", ["rgb"])], {}, "rgb_out");
  const pixels = ["n", "height", "width", 3];
  const graph = g.graph("fails-when-bright", [{ name: "rgb", type: OnnxType.uint8, dims: pixels }], [{ name: "rgb_out", type: OnnxType.uint8, dims: pixels }]);
  const path = join(WORK, "fails-when-bright.onnx");
  writeFileSync(path, encodeModel(graph, 17, "dsanet-stream tests"));
  return path;
}
