/**
 * A bare onnxruntime session on a shipped model: the engine's session options and nothing
 * around it (no worker, no batching, no conversions outside the graph), the same mid-grey input
 * every run. What the engine could reach at most.
 */
import ort from "onnxruntime-node";
import { availableCores } from "../src/machine.js";
import { padded, strideFor } from "../src/engine/engine.js";
import { modelFile, SHIPPED_MODELS, type ShippedModel } from "../src/model/registry.js";
import { sessionOptions, stateChannelsOf } from "../src/engine/onnx-engine.js";

export interface BareSession {
  /** One inference of `rows` frames of the session's size. */
  run(rows?: number): Promise<unknown>;
  release(): Promise<void>;
}

export async function bareSession(model: ShippedModel, height: number, width: number, threads = 0): Promise<BareSession> {
  const path = modelFile({ type: "onnx", model, scales: null }).path;
  const session = await ort.InferenceSession.create(path, sessionOptions(threads || availableCores()));
  const stride = strideFor(SHIPPED_MODELS[model].scales);
  const [h, w] = [padded(height, stride), padded(width, stride)];
  const channels = stateChannelsOf(session, path) ?? 0;
  // The graph's own input: frames' bytes (the pixel work in the graph) or float planes padded to the stride.
  const frames = (n: number): Record<string, ort.Tensor> =>
    session.inputNames.includes("rgb")
      ? { rgb: new ort.Tensor("uint8", new Uint8Array(n * height * width * 3).fill(128), [n, height, width, 3]) }
      : { frame: new ort.Tensor("float32", new Float32Array(n * 3 * h * w).fill(0.5), [n, 3, h, w]) };
  const state = (n: number) => new ort.Tensor("float32", new Float32Array((n * channels * h * w) / 64), [n, channels, h / 8, w / 8]);
  const feeds = new Map<number, Record<string, ort.Tensor>>();
  return {
    run(rows = 1) {
      if (!feeds.has(rows)) feeds.set(rows, { ...frames(rows), h: state(rows), c: state(rows) });
      return session.run(feeds.get(rows) as Record<string, ort.Tensor>);
    },
    release: () => session.release(),
  };
}
