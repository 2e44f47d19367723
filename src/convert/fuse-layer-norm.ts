import { AddedInitializers, floatScalar, indexGraph, withReplacements } from "./graph-index.js";
import { OnnxType, type OnnxGraph, type OnnxNode, type OnnxTensor } from "./onnx-proto.js";

/**
 * Layer normalization over the last axis, written out as jax2tf and flax write it:
 *
 *   mean = ReduceSum(x, [last]) * (1/C)            var = max(0, ReduceSum(x*x, [last]) * (1/C) - mean*mean)
 *   y = (x - Reshape(mean)) * (Reciprocal(Sqrt(Reshape(var) + eps)) * gamma) + beta
 *
 * becomes one LayerNormalization (opset 17) node. onnxruntime runs the written-out form as
 * thirteen kernels, six of them passes over the whole tensor, and fuses none of it (its own
 * LayerNorm fusion looks for ReduceMean and Pow). For MAXIM's 372 layer norms at 640x384:
 * 14,841 nodes become 8,889, the session sets up in 5.9 s instead of 11.3, and a frame takes
 * 64-68 s instead of 71-72 on two cores. The fused kernel computes the variance as the mean of
 * squared deviations, which differs from E[x²] - E[x]² by float rounding only (1 level on 102
 * of 691,200 output bytes). Anything that deviates from the pattern (another axis, another
 * scale, a shared intermediate) is left as it is.
 */
export function fuseLayerNorms(graph: OnnxGraph): OnnxGraph {
  const { constants, made, onlyConsumer, split } = indexGraph(graph);

  const replaced = new Map<OnnxNode, OnnxNode>();
  // LayerNormalization takes scale and bias of the normalized axis' shape: (C) copies of (1, ..., C).
  const added = new AddedInitializers();
  const flat = (tensor: OnnxTensor) => added.once(`${tensor.name}__layer_norm`, () => ({ ...tensor, dims: [tensor.dims[tensor.dims.length - 1] ?? 0] }));
  for (const sqrt of graph.nodes.filter((n) => n.op === "Sqrt")) {
    const match = matchLayerNorm(sqrt);
    if (!match) continue;
    const [gamma, beta] = [flat(match.gamma), flat(match.beta)];
    replaced.set(match.last, { op: "LayerNormalization", inputs: [match.x, gamma.name, beta.name], outputs: match.last.outputs, attributes: { axis: -1, epsilon: { float: match.epsilon } } });
  }
  return withReplacements(graph, replaced, added);

  function matchLayerNorm(sqrt: OnnxNode) {
    // Upwards from Sqrt: the variance and, through it, x and the mean.
    const plusEpsilon = made(sqrt.inputs[0], "Add");
    const epsilon = plusEpsilon && split(plusEpsilon);
    const varianceShaped = made(epsilon?.value, "Reshape");
    const clamped = made(varianceShaped?.inputs[0], "Max");
    const zero = clamped && split(clamped);
    const difference = made(zero?.value, "Sub");
    const meanOfSquares = made(difference?.inputs[0], "Mul");
    const squareOfMean = made(difference?.inputs[1], "Mul");
    if (!epsilon || !zero || floatScalar(zero.constant) !== 0 || !meanOfSquares || !squareOfMean) return null;
    const ofSquares = split(meanOfSquares);
    const sumOfSquares = made(ofSquares?.value, "ReduceSum");
    const squares = made(sumOfSquares?.inputs[0], "Mul");
    const x = squares?.inputs[0];
    const mean = made(squareOfMean.inputs[0], "Mul");
    if (!ofSquares || !sumOfSquares || !squares || x === undefined || squares.inputs[1] !== x || squareOfMean.inputs[1] !== squareOfMean.inputs[0] || !mean) return null;
    const ofSum = split(mean);
    const sum = made(ofSum?.value, "ReduceSum");
    if (!ofSum || !sum || sum.inputs[0] !== x || sum.inputs[1] !== sumOfSquares.inputs[1] || floatScalar(ofSum.constant) !== floatScalar(ofSquares.constant)) return null;
    const rank = varianceShaped?.inputs[1] === undefined ? undefined : constants.get(varianceShaped.inputs[1])?.dims[0];
    const axes = sum.inputs[1] === undefined ? undefined : constants.get(sum.inputs[1]);
    if (rank === undefined || !axes || !lastAxisOnly(axes, rank) || sum.attributes?.keepdims !== 0 || sumOfSquares.attributes?.keepdims !== 0) return null;

    // Downwards: the scale, the centred x, the shift.
    const reciprocal = onlyConsumer(sqrt, "Reciprocal");
    const scaled = reciprocal && onlyConsumer(reciprocal, "Mul");
    const gamma = scaled && split(scaled);
    const normalized = scaled && onlyConsumer(scaled, "Mul");
    const shifted = normalized && onlyConsumer(normalized, "Add");
    const beta = shifted && split(shifted);
    if (!reciprocal || !gamma || gamma.value !== reciprocal.outputs[0] || !normalized || !shifted || !beta) return null;
    const centred = made(normalized.inputs.find((i) => i !== scaled.outputs[0]), "Sub");
    const meanShaped = made(centred?.inputs[1], "Reshape");
    if (!centred || centred.inputs[0] !== x || meanShaped?.inputs[0] !== mean.outputs[0]) return null;
    const channels = gamma.constant.dims[gamma.constant.dims.length - 1];
    const size = (t: OnnxTensor) => t.dims.reduce((a, b) => a * b, 1);
    if (!channels || size(gamma.constant) !== channels || size(beta.constant) !== channels || beta.constant.dims[beta.constant.dims.length - 1] !== channels) return null;
    if (Math.abs((floatScalar(ofSum.constant) ?? 0) * channels - 1) > 1e-6) return null;
    const eps = floatScalar(epsilon.constant);
    if (eps === null) return null;
    return { x, gamma: gamma.constant, beta: beta.constant, epsilon: eps, last: shifted };
  }
}

function lastAxisOnly(axes: OnnxTensor, rank: number): boolean {
  if (axes.type !== OnnxType.int64 || axes.data.byteLength !== 8) return false;
  const axis = Number(new DataView(axes.data.buffer, axes.data.byteOffset, 8).getBigInt64(0, true));
  return axis === -1 || axis === rank - 1;
}
