import { describe, expect, it } from "vitest";
import { loadEngineInWorker } from "../../src/engine/engine-in-worker.js";
import { MODEL } from "../helpers/clips.js";

const [H, W] = [96, 128];
const frame = () => [{ rgb: new Uint8Array(3 * H * W).fill(128), state: null }];

describe("the engine worker", () => {
  // Stopping a live stream closes the engine while a frame is still being deblurred. The
  // worker used to release the session under that run, or run a later frame on the released
  // session, and onnxruntime-node aborted the whole process (exit 134, Napi::Error).
  it("finishes the run in flight before closing, and refuses runs after close", async () => {
    const engine = await loadEngineInWorker({ type: "onnx", model: MODEL, scales: 3, stages: null, precision: "fp32", threads: 1, provider: "cpu", backend: "auto" });
    const inFlight = engine.run(frame(), H, W);
    const closed = engine.close();
    const late = expect(engine.run(frame(), H, W)).rejects.toThrow(/engine is closed/);
    const [out] = await inFlight;
    expect(out?.rgb).toHaveLength(3 * H * W);
    out?.state.dispose(); // after close: must be harmless
    await late;
    await closed;
    await expect(engine.run(frame(), H, W)).rejects.toThrow(/engine is closed/);
    await engine.close(); // twice is fine
  });
});
