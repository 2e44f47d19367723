import { availableMemory } from "../machine.js";
import { padded } from "./engine.js";

/**
 * Peak memory the model needs per input pixel, measured on the shipped DSANet as the peak RSS
 * growth during one inference, 256x256 to 1920x1088: onnxruntime on the CPU 840-1,090 bytes,
 * TensorFlow.js on wasm about 3 KB. Rounded up for headroom; engines report theirs.
 */
export const BYTES_PER_PIXEL = { onnx: 1_200, tfjs: 3_500 } as const;

/** Half of this machine's memory, or of its container's where that is less. */
export function defaultMemoryLimitMB(): number {
  return Math.floor((0.5 * availableMemory()) / 2 ** 20);
}

/**
 * The tile size to run a width x height frame in: `requested` when the user chose one; else
 * null (whole frames) while a whole frame fits in `limitMB`, or the largest square tile, a
 * multiple of `stride`, that does. A 4000x3000 frame needs some 14 GB whole.
 */
export function tileFor(width: number, height: number, stride: number, bytesPerPixel: number, limitMB: number, requested: number | null): number | null {
  if (requested !== null) return requested;
  const limit = limitMB * 2 ** 20;
  if (padded(width, stride) * padded(height, stride) * bytesPerPixel <= limit) return null;
  const side = Math.floor(Math.sqrt(limit / bytesPerPixel) / stride) * stride;
  if (side < 2 * stride) {
    throw new Error(`deblur.memoryLimitMB (${limitMB}) is too small for even a ${2 * stride}-pixel tile; raise it or set --tile`);
  }
  return side;
}
