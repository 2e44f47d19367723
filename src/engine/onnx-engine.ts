import ort from "onnxruntime-node";
import type { Precision } from "../model/registry.js";
import { ConfigError } from "../errors.js";
import { availableCores } from "../machine.js";
import { stateInMemory, stateOnGpu, type StateDims } from "./carried-state.js";
import { BYTES_PER_PIXEL, checkFrames, DSANET_REGION_CONTEXT, padded, strideFor, type Engine, type EngineInput, type EngineOutput, type EngineState } from "./engine.js";
import { toBytes, toFloat } from "./pixels.js";
import { describeAdapter, findWebGpuAdapter, WEBGPU_PROVIDER } from "./webgpu.js";

export type OnnxProvider = "cpu" | "cuda" | "tensorrt" | "webgpu";

export interface OnnxEngineOptions {
  /** The .onnx file (load-engine's modelFile picks it), exported with `scales` scales. */
  readonly model: string;
  readonly scales: number;
  /** Frames are padded to multiples of this; default: DSANet's for `scales`. */
  readonly stride?: number;
  /** Peak bytes an inference needs per pixel; default: DSANet's. */
  readonly bytesPerPixel?: number;
  /** Intra-op threads for the CPU provider; 0: one per available core (never onnxruntime's own choice). */
  readonly threads: number;
  readonly provider: OnnxProvider;
  /** onnxruntime's memory pattern (default on); see sessionOptions. */
  readonly memoryPattern?: boolean;
  /** The graph's precision, for the engine's name: an int8 graph is a file of its own. */
  readonly precision?: Precision;
}

/** What a model that carries no state (no `h`/`c` inputs: MAXIM) returns for each frame. */
const NO_STATE: EngineState = { dispose: () => undefined };

/** How the engine runs a session; the benchmarks' bare sessions run the same way. */
export function sessionOptions(threads: number, provider: OnnxProvider = "cpu", memoryPattern = true): ort.InferenceSession.SessionOptions {
  return {
    // The memory pattern plans, after the first run, one block for all of a run's tensors, on
    // top of what the first run grew the arena by: MAXIM's RSS doubled from its second frame
    // (640x384: 4.95 GiB, then 9.70; without the pattern 5.33, at the same 54 s a frame), past
    // the memory limit its tiles are planned for. Models that big run without it.
    enableMemPattern: memoryPattern,
    // No silent CPU fallback: asking for a GPU and getting the CPU would only look slow.
    executionProviders: [provider === "webgpu" ? WEBGPU_PROVIDER : provider],
    // The carried state stays on the GPU from frame to frame: only the frames travel. Errors only:
    // every webgpu session warns that shape arithmetic runs on the CPU (README, "GPU" says which).
    ...(provider === "webgpu" ? { preferredOutputLocation: { h_out: "gpu-buffer", c_out: "gpu-buffer" }, logSeverityLevel: 3 as const } : {}),
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
  // Asked of the adapter first, where a missing Vulkan driver is still one line that says so.
  const adapter = options.provider === "webgpu" ? await findWebGpuAdapter() : null;
  const session = await ort.InferenceSession.create(path, sessionOptions(threads, options.provider, options.memoryPattern)).catch((error: Error) => {
    if (options.provider === "cpu") throw error;
    const needs = options.provider === "webgpu" ? "a Vulkan driver (see README, \"GPU\")" : `its CUDA binaries (see README, "GPU")`;
    throw new ConfigError(`engine.provider: ${options.provider} could not start (${error.message.split("\n")[0]}); onnxruntime-node needs ${needs} for it, or use --provider cpu`);
  });
  const state = options.provider === "webgpu" ? await stateOnGpu(WEBGPU_PROVIDER) : stateInMemory;
  const stride = options.stride ?? strideFor(options.scales);
  const stateChannels = stateChannelsOf(session, path);
  // training/export.py's graphs take the frames' bytes and do the pixel work themselves; older
  // exports (and --float) take float planes padded to the stride, converted here.
  const takesBytes = session.inputNames.includes("rgb");

  return {
    name: adapter ? `onnx (webgpu: ${describeAdapter(adapter)})` : options.provider === "cpu" ? `onnx (cpu, ${threads} thread${threads === 1 ? "" : "s"}${options.precision === "int8" ? ", int8" : ""})` : `onnx (${options.provider})`,
    stride,
    bytesPerPixel: options.bytesPerPixel ?? BYTES_PER_PIXEL.onnx,
    regionTileLimit: null,
    regionContext: DSANET_REGION_CONTEXT,
    scales: options.scales,
    carriesState: stateChannels !== null,
    async run(inputs: readonly EngineInput[], height: number, width: number): Promise<EngineOutput[]> {
      checkFrames(inputs, height, width);
      if (stateChannels === null) return runStateless(session, path, inputs, height, width);
      const rows = inputs.length;
      const [paddedHeight, paddedWidth] = [padded(height, stride), padded(width, stride)];
      const dims: StateDims = [rows, stateChannels, paddedHeight / 8, paddedWidth / 8];
      // A stream without a state (its first frame) starts from zeros.
      const carried = await state.batch(inputs.map((input) => input.state), dims);
      const out = await session
        .run({ ...(takesBytes ? bytesIn(inputs, height, width) : floatsIn(inputs, height, width, paddedHeight, paddedWidth)), h: carried.h, c: carried.c })
        .finally(() => carried.release());
      const { h_out: h, c_out: c } = out;
      if (!h || !c) throw new Error(`${path}: expected outputs h_out, c_out`);
      const sharp = takesBytes ? bytesOut(out, path) : floatsOut(out, path, rows, height, width, paddedHeight, paddedWidth);
      const states = await state.rows(h, c, dims);
      const frameSize = height * width * 3;
      return states.map((rowState, i) => ({ rgb: rows === 1 ? sharp : sharp.subarray(i * frameSize, (i + 1) * frameSize), state: rowState }));
    },
    async close(): Promise<void> {
      await state.close();
      await session.release();
    },
  };
}

/**
 * A model without state inputs (MAXIM): frames' bytes in and out, nothing carried. Its graphs
 * are converted for one frame at a time, so a batch runs row by row.
 */
async function runStateless(session: ort.InferenceSession, path: string, inputs: readonly EngineInput[], height: number, width: number): Promise<EngineOutput[]> {
  const outputs: EngineOutput[] = [];
  for (const input of inputs) {
    const out = await session.run(bytesIn([input], height, width));
    outputs.push({ rgb: bytesOut(out, path), state: NO_STATE });
  }
  return outputs;
}

/**
 * The ConvLSTM's width, from the graph's `h` input (N, C, H/8, W/8): 128 for DSANet, less for
 * Lite; null for a graph without one, that carries no state (MAXIM).
 */
export function stateChannelsOf(session: ort.InferenceSession, path: string): number | null {
  const h = session.inputMetadata.find((input) => input.name === "h");
  if (!h) return null;
  const channels = h.isTensor ? h.shape[1] : undefined;
  if (typeof channels !== "number") throw new Error(`${path}: expected an input 'h' of shape (N, C, H/8, W/8) with a fixed C`);
  return channels;
}

/** Rows of `rowSize` values one after another, null rows zero: a batch. One row is used as it is. */
function stack<A extends Float32Array | Uint8Array>(rows: readonly (A | null)[], rowSize: number, type: new (length: number) => A): A {
  if (rows.length === 1) return rows[0] ?? new type(rowSize);
  const batch = new type(rows.length * rowSize);
  rows.forEach((row, i) => row && batch.set(row, i * rowSize));
  return batch;
}

/** The frames as the graph's `rgb`: (N, H, W, 3) bytes. */
function bytesIn(inputs: readonly EngineInput[], height: number, width: number): Record<string, ort.Tensor> {
  const rgb = stack(inputs.map((input) => input.rgb), height * width * 3, Uint8Array);
  return { rgb: new ort.Tensor("uint8", rgb, [inputs.length, height, width, 3]) };
}

function bytesOut(out: ort.InferenceSession.ReturnType, path: string): Uint8Array {
  if (!out.rgb_out) throw new Error(`${path}: expected an output rgb_out`);
  return out.rgb_out.data as Uint8Array;
}

/** The frames as a float graph's `frame`: (N, 3, H', W') in [0, 1], padded to the stride. */
function floatsIn(inputs: readonly EngineInput[], height: number, width: number, paddedHeight: number, paddedWidth: number): Record<string, ort.Tensor> {
  const whole = { x: 0, y: 0, width, height };
  const planes = inputs.map((input) => toFloat(input.rgb, width, whole, paddedHeight, paddedWidth, "nchw"));
  return { frame: new ort.Tensor("float32", stack(planes, 3 * paddedHeight * paddedWidth, Float32Array), [inputs.length, 3, paddedHeight, paddedWidth]) };
}

/** A float graph's `sharp`, cropped to the frames and made bytes, row after row. */
function floatsOut(out: ort.InferenceSession.ReturnType, path: string, rows: number, height: number, width: number, paddedHeight: number, paddedWidth: number): Uint8Array {
  if (!out.sharp) throw new Error(`${path}: expected an output sharp`);
  const planes = out.sharp.data as Float32Array;
  const [frameSize, planesSize] = [height * width * 3, 3 * paddedHeight * paddedWidth];
  const rgb = new Uint8Array(rows * frameSize);
  const whole = { x: 0, y: 0, width, height };
  for (let i = 0; i < rows; i++) {
    toBytes(planes.subarray(i * planesSize, (i + 1) * planesSize), "nchw", paddedHeight, paddedWidth, whole, rgb.subarray(i * frameSize, (i + 1) * frameSize), width);
  }
  return rgb;
}
