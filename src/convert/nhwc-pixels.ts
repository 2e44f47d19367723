import { GraphBuilder } from "./onnx-builder.js";
import { OnnxType, type OnnxGraph } from "./onnx-proto.js";

/**
 * A float NHWC image network (`input` (1, H', W', 3) in [0, 1] -> `output`, same size) of a
 * fixed padded size behind uint8 frames, as training/export.py's with_pixels does for DSANet:
 * `rgb` (1, H, W, 3) of any size up to H' x W' is scaled to [0, 1] and padded by repeating its
 * last row and column; the output is cropped back to H x W, scaled to 0-255, rounded half to
 * even, clipped and made uint8 `rgb_out`. The engines then hand frames over as they are.
 */
export function withNhwcPixels(graph: OnnxGraph, input: string, output: string, paddedHeight: number, paddedWidth: number): OnnxGraph {
  const b = new GraphBuilder("pixels_in_");
  const unit = b.add("Div", [b.add("Cast", ["rgb"], { to: OnnxType.float }), b.float(255)]);
  const hw = b.add("Slice", [b.add("Shape", ["rgb"]), b.int64([1]), b.int64([3])]);
  const short = b.add("Sub", [b.int64([paddedHeight, paddedWidth]), hw]);
  const pads = b.add("Concat", [b.int64([0, 0, 0, 0, 0]), short, b.int64([0])], { axis: 0 });
  b.add("Pad", [unit, pads], { mode: "edge" }, input);
  const before = b.graph("pixels in", [], []);

  const after = new GraphBuilder("pixels_out_");
  const cropped = after.add("Slice", [output, after.int64([0, 0]), hw, after.int64([1, 2])]);
  const levels = after.add("Round", [after.add("Mul", [cropped, after.float(255)])]);
  after.add("Cast", [after.add("Clip", [levels, after.float(0), after.float(255)])], { to: OnnxType.uint8 }, "rgb_out");
  const out = after.graph("pixels out", [], []);
  return {
    name: graph.name,
    nodes: [...before.nodes, ...graph.nodes, ...out.nodes],
    initializers: [...before.initializers, ...graph.initializers, ...out.initializers],
    inputs: [{ name: "rgb", type: OnnxType.uint8, dims: [1, "height", "width", 3] }],
    outputs: [{ name: "rgb_out", type: OnnxType.uint8, dims: [1, "height", "width", 3] }],
  };
}
