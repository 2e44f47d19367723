import { defer, finalize, tap, type OperatorFunction } from "rxjs";
import type { DeblurStreamOptions } from "../deblur/deblur-stream.js";
import { DeblurStream } from "../deblur/deblur-stream.js";
import type { Engine } from "../engine/engine.js";
import type { Frame } from "../types.js";
import { dropOldest } from "./drop-oldest.js";
import type { StreamMetrics } from "./metrics.js";

export interface LiveFrame {
  readonly original: Frame;
  readonly sharp: Frame;
  /** The share of its pixels that went through the model (regions: auto), 1 for the whole frame. */
  readonly deblurredShare: number;
  readonly inferenceMs: number;
  /** From the frame's arrival to its deblurred result. */
  readonly latencyMs: number;
}

export interface LiveDeblurOptions extends DeblurStreamOptions {
  /** Frames that may wait for the model; beyond this the oldest waiting frame is dropped. */
  readonly queue: number;
  readonly metrics: StreamMetrics;
}

/**
 * Deblur one live stream with bounded latency: when the model is slower than the camera,
 * the oldest waiting frames are dropped and counted rather than queued without bound.
 */
export function deblurLive(engine: Engine, options: LiveDeblurOptions): OperatorFunction<Frame, LiveFrame> {
  return (frames) =>
    defer(() => {
      const stream = new DeblurStream(engine, options);
      const { metrics } = options;
      return frames.pipe(
        tap(() => metrics.received()),
        dropOldest(
          options.queue,
          async (original: Frame): Promise<LiveFrame> => {
            const started = performance.now();
            const { sharp, deblurredShare } = await stream.deblur(original);
            const inferenceMs = performance.now() - started;
            const latencyMs = Date.now() - (original.receivedAtMs ?? Date.now());
            metrics.delivered(inferenceMs, latencyMs, deblurredShare);
            return { original, sharp, deblurredShare, inferenceMs, latencyMs };
          },
          () => metrics.dropped(),
        ),
        finalize(() => stream.close()),
      );
    });
}
