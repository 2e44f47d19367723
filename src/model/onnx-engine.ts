import ort from "onnxruntime-node";
import { availableCores } from "../machine.js";
import { BYTES_PER_PIXEL } from "./memory.js";
import { strideFor, type Engine, type EngineInput, type EngineOutput, type EngineState } from "./engine.js";

export type OnnxProvider = "cpu" | "cuda" | "tensorrt";

export interface OnnxEngineOptions {
  /** The .onnx file (load-engine's modelFile picks it), exported with `scales` scales. */
  readonly model: string;
  readonly scales: number;
  /** Intra-op threads for the CPU provider; 0: one per available core (never onnxruntime's own choice). */
  readonly threads: number;
  readonly provider: OnnxProvider;
}

class OnnxState implements EngineState {
  constructor(
    readonly h: ort.Tensor,
    readonly c: ort.Tensor,
  ) {}
  dispose(): void {
    this.h.dispose();
    this.c.dispose();
  }
}

/** How the engine runs a session; the benchmarks' bare sessions run the same way. */
export function sessionOptions(threads: number, provider: OnnxProvider = "cpu"): ort.InferenceSession.SessionOptions {
  return {
    // No silent CPU fallback: asking for a GPU and getting the CPU would only look slow.
    executionProviders: [provider],
    intraOpNumThreads: threads,
    // DSANet is one chain of convolutions: operators run one after another, each on all threads.
    executionMode: "sequential",
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    // Threads that spin between operators take the cores ffmpeg and the pipeline need: with
    // DSANet-Lite end to end at 640x360, 7.0 fps spinning against 7.8 fps without.
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  };
}

/** DSANet on onnxruntime-node: the default engine, CPU or CUDA/TensorRT where present. */
export async function createOnnxEngine(options: OnnxEngineOptions): Promise<Engine> {
  const path = options.model;
  // onnxruntime's own choice (0) was one thread on 2-core EPYCs, 1.7x slower than two.
  const threads = options.threads || availableCores();
  const session = await ort.InferenceSession.create(path, sessionOptions(threads, options.provider)).catch((error: Error) => {
    if (options.provider === "cpu") throw error;
    throw new Error(
      `onnx provider '${options.provider}' could not start (${error.message.split("\n")[0]}); onnxruntime-node needs its CUDA ` +
        `binaries for it (see README, "GPU"), or use --provider cpu`,
    );
  });
  const stride = strideFor(options.scales);
  const stateChannels = stateChannelsOf(session, path);

  return {
    name: options.provider === "cpu" ? `onnx (cpu, ${threads} thread${threads === 1 ? "" : "s"})` : `onnx (${options.provider})`,
    layout: "nchw",
    stride,
    bytesPerPixel: BYTES_PER_PIXEL.onnx,
    scales: options.scales,
    async run(inputs: readonly EngineInput[], height: number, width: number): Promise<EngineOutput[]> {
      const rows = inputs.length;
      const [imageSize, stateSize] = [3 * height * width, (stateChannels * height * width) / 64];
      const stateDims = (n: number) => [n, stateChannels, height / 8, width / 8];
      // A stream without a state (its first frame) starts from zeros.
      const previous = inputs.map(({ state }) => (state instanceof OnnxState ? state : null));
      const carried = (part: "h" | "c") => stack(previous.map((state) => (state?.[part].data as Float32Array | undefined) ?? null), stateSize);
      const out = await session.run({
        frame: new ort.Tensor("float32", stack(inputs.map((input) => input.image), imageSize), [rows, 3, height, width]),
        h: new ort.Tensor("float32", carried("h"), stateDims(rows)),
        c: new ort.Tensor("float32", carried("c"), stateDims(rows)),
      });
      const { sharp, h_out: h, c_out: c } = out;
      if (!sharp || !h || !c) throw new Error(`${path}: expected outputs sharp, h_out, c_out`);
      if (rows === 1) return [{ image: sharp.data as Float32Array, state: new OnnxState(h, c) }];
      // Each row's state a view of the batch's: it goes back into a batch (copied) or alone (as is).
      const row = (tensor: ort.Tensor, size: number, i: number) => (tensor.data as Float32Array).subarray(i * size, (i + 1) * size);
      return inputs.map((_, i) => ({
        image: row(sharp, imageSize, i),
        state: new OnnxState(new ort.Tensor("float32", row(h, stateSize, i), stateDims(1)), new ort.Tensor("float32", row(c, stateSize, i), stateDims(1))),
      }));
    },
    async close(): Promise<void> {
      await session.release();
    },
  };
}

/** The ConvLSTM's width, from the graph's `h` input (N, C, H/8, W/8): 128 for DSANet, less for Lite. */
export function stateChannelsOf(session: ort.InferenceSession, path: string): number {
  const h = session.inputMetadata.find((input) => input.name === "h");
  const channels = h?.isTensor ? h.shape[1] : undefined;
  if (typeof channels !== "number") throw new Error(`${path}: expected an input 'h' of shape (N, C, H/8, W/8) with a fixed C`);
  return channels;
}

/** Rows of `rowSize` values one after another, null rows zero: a batch. One row is used as it is. */
function stack(rows: readonly (Float32Array | null)[], rowSize: number): Float32Array {
  if (rows.length === 1) return rows[0] ?? new Float32Array(rowSize);
  const batch = new Float32Array(rows.length * rowSize);
  rows.forEach((row, i) => row && batch.set(row, i * rowSize));
  return batch;
}
