import ort from "onnxruntime-node";
import { availableCores } from "../machine.js";
import { BYTES_PER_PIXEL } from "./memory.js";
import { strideFor, type Engine, type EngineOutput, type EngineState } from "./engine.js";

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
    async run(image: Float32Array, height: number, width: number, state: EngineState | null): Promise<EngineOutput> {
      const stateDims = [1, stateChannels, height / 8, width / 8];
      const previous =
        state instanceof OnnxState
          ? state
          : new OnnxState(
              new ort.Tensor("float32", new Float32Array(stateChannels * (height / 8) * (width / 8)), stateDims),
              new ort.Tensor("float32", new Float32Array(stateChannels * (height / 8) * (width / 8)), stateDims),
            );
      const frame = new ort.Tensor("float32", image, [1, 3, height, width]);
      const out = await session.run({ frame, h: previous.h, c: previous.c });
      const { sharp, h_out: h, c_out: c } = out;
      if (!sharp || !h || !c) throw new Error(`${path}: expected outputs sharp, h_out, c_out`);
      return { image: sharp.data as Float32Array, state: new OnnxState(h, c) };
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
