/** The ConvLSTM state an engine carries between frames; opaque outside its engine. */
export interface EngineState {
  dispose(): void;
}

/** One frame of a batch, with the state its own stream's previous frame left. */
export interface EngineInput {
  /** Packed RGB24, height x width, any size: the engine pads it to its stride. */
  readonly rgb: Uint8Array;
  /** What the previous frame of the same stream returned, or null to start afresh. */
  readonly state: EngineState | null;
}

export interface EngineOutput {
  /** The sharp frame, packed RGB24, the input's size. */
  readonly rgb: Uint8Array;
  readonly state: EngineState;
}

/** A loaded model that deblurs frames: DSANet, DSANet-Lite or MAXIM, on one engine. */
export interface Engine {
  /** e.g. "onnx (cpu, 2 threads)", "tfjs (wasm)" or "maxim-3s on onnx (cpu)". */
  readonly name: string;
  /** Frames are padded to multiples of this (DSANet: strideFor(scales), 8 to 32; MAXIM 64); tiles are sized in them. */
  readonly stride: number;
  readonly scales: number;
  /**
   * Whether the network carries a state from frame to frame (DSANet's ConvLSTM). A model that
   * carries none (MAXIM) returns empty states, and the pipeline runs it frame by frame.
   */
  readonly carriesState: boolean;
  /** Peak memory of an inference per input pixel, measured (see memory.ts). */
  readonly bytesPerPixel: number;
  /**
   * Motion-gated regions (deblur.regions auto) run at their own size, rounded up to the stride,
   * in tiles with no side longer than this where each new input size costs the engine a
   * conversion (MAXIM: a graph and a session per size); null: any size.
   */
  readonly regionTileLimit: number | null;
  /**
   * Pixels of the frame around each region that its tiles show the model besides the region,
   * not taken back into the frame: a network's output is poorer near its input's border, where
   * its convolutions see padding. More context costs more pixels (see the engines' values).
   */
  readonly regionContext: number;
  /**
   * Deblur a batch of frames of height x width, one row each, in one inference: the frames of
   * several streams, each with its own state. One output per input, in order. The engine may
   * take the inputs' buffers (the worker engine moves them): do not use them afterwards.
   */
  run(inputs: readonly EngineInput[], height: number, width: number): Promise<EngineOutput[]>;
  close(): Promise<void>;
}

/**
 * Peak memory the model needs per input pixel, measured on the shipped DSANet as the peak RSS
 * growth during one inference, 256x256 to 1920x1088: onnxruntime on the CPU 840-1,090 bytes,
 * TensorFlow.js on wasm about 3 KB. Rounded up for headroom; engines report theirs (Engine.bytesPerPixel).
 */
export const BYTES_PER_PIXEL = { onnx: 1_200, tfjs: 3_500 } as const;

/**
 * DSANet's context around a region (Engine.regionContext). On the demo sample's frames 10-15
 * (bench/regions.bench.ts, 2-core Xeon, 2026-12-06) DSANet's regions went from 0.40 dB under
 * the input in the moving areas without context to 0.17 with 8 pixels and level (+0.02) with
 * 32, and Lite's from 0.22 to 0.07 under; at 2 to 5 ms more a frame for either.
 */
export const DSANET_REGION_CONTEXT = 32;

/** How far a frame of `size` pixels is padded: the next multiple of `stride`. */
export function padded(size: number, stride: number): number {
  return Math.ceil(size / stride) * stride;
}

/** Input stride of DSANet with K scales: three stride-2 stages below the coarsest scale. */
export function strideFor(scales: number): number {
  return 8 * 2 ** (scales - 1);
}

/** Throws unless every input holds height x width RGB24 pixels: a short frame would be read as garbage. */
export function checkFrames(inputs: readonly EngineInput[], height: number, width: number): void {
  const size = height * width * 3;
  inputs.forEach(({ rgb }, i) => {
    if (rgb.length !== size) throw new Error(`frame ${i} of the batch has ${rgb.length} bytes, where ${width}x${height} RGB24 has ${size}`);
  });
}
