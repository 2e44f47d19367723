/** How an engine wants its input laid out: ONNX takes planes (NCHW), TensorFlow pixels (NHWC). */
export type Layout = "nchw" | "nhwc";

/** The ConvLSTM state an engine carries between frames; opaque outside its engine. */
export interface EngineState {
  dispose(): void;
}

/** One image of a batch, with the state its own stream's previous frame left. */
export interface EngineInput {
  /** float32 in [0, 1], height x width in the engine's layout. */
  readonly image: Float32Array;
  /** What the previous frame of the same stream returned, or null to start afresh. */
  readonly state: EngineState | null;
}

export interface EngineOutput {
  /** The sharp image, float32 in [0, 1], same layout and size as the input. */
  readonly image: Float32Array;
  readonly state: EngineState;
}

/** One loaded DSANet that deblurs padded frames. */
export interface Engine {
  /** e.g. "onnx (cpu, 2 threads)" or "tfjs (wasm)". */
  readonly name: string;
  readonly layout: Layout;
  /** Input height and width must be multiples of this (32 with 3 scales). */
  readonly stride: number;
  readonly scales: number;
  /** Peak memory of an inference per input pixel, measured (see memory.ts). */
  readonly bytesPerPixel: number;
  /**
   * Deblur a batch of images of height x width (multiples of `stride`), one row each, in one
   * inference: the frames of several streams, each with its own state. One output per input,
   * in order. The engine may take the images' buffers (the worker engine moves them): do not
   * use them afterwards.
   */
  run(inputs: readonly EngineInput[], height: number, width: number): Promise<EngineOutput[]>;
  close(): Promise<void>;
}

/** Input stride of DSANet with K scales: three stride-2 stages below the coarsest scale. */
export function strideFor(scales: number): number {
  return 8 * 2 ** (scales - 1);
}
