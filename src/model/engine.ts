/** How an engine wants its input laid out: ONNX takes planes (NCHW), TensorFlow pixels (NHWC). */
export type Layout = "nchw" | "nhwc";

/** The ConvLSTM state an engine carries between frames; opaque outside its engine. */
export interface EngineState {
  dispose(): void;
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
   * Deblur one image of height x width (multiples of `stride`), float32 in [0, 1].
   * `state` is what the previous frame of the same stream returned, or null to start afresh.
   * The engine may take `image`'s buffer (the worker engine moves it): do not use it afterwards.
   */
  run(image: Float32Array, height: number, width: number, state: EngineState | null): Promise<EngineOutput>;
  close(): Promise<void>;
}

/** Input stride of DSANet with K scales: three stride-2 stages below the coarsest scale. */
export function strideFor(scales: number): number {
  return 8 * 2 ** (scales - 1);
}
