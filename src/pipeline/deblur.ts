import { concatMap, defer, finalize, type OperatorFunction } from "rxjs";
import { DeblurStream, type DeblurStreamOptions } from "../deblur/deblur-stream.js";
import type { Engine } from "../engine/engine.js";
import type { Frame } from "../types.js";

export interface Deblurred {
  readonly original: Frame;
  readonly sharp: Frame;
  /** The share of its pixels that went through the model (regions: auto), 1 for the whole frame. */
  readonly deblurredShare: number;
  readonly inferenceMs: number;
  /** How long the stage sat idle waiting for this frame after finishing the previous one. */
  readonly waitedMs: number;
}

/**
 * Deblur each frame of one stream, one at a time and in order: the carried state needs frame
 * t before frame t+1. Each subscription gets its own state.
 */
export function deblur(engine: Engine, options: DeblurStreamOptions): OperatorFunction<Frame, Deblurred> {
  return (frames) =>
    defer(() => {
      const stream = new DeblurStream(engine, options);
      let idleSince = performance.now();
      return frames.pipe(
        concatMap(async (original) => {
          const started = performance.now();
          const { sharp, deblurredShare } = await stream.deblur(original);
          const waitedMs = started - idleSince;
          idleSince = performance.now();
          return { original, sharp, deblurredShare, inferenceMs: idleSince - started, waitedMs };
        }),
        finalize(() => stream.close()),
      );
    });
}
