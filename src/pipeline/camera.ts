import { retry, share, tap, takeUntil, timer, type Observable } from "rxjs";
import { briefly } from "../ffmpeg/errors.js";
import { log } from "../log.js";
import { reconnectDelay } from "../reconnect.js";
import { drawBoxes } from "../sinks/draw-boxes.js";
import type { StreamStatus, ViewerServer } from "../sinks/viewer/server.js";
import { rtspSource, type LiveEvent } from "../sources/rtsp.js";
import type { Detection } from "../types.js";
import { attachOutput } from "./attach-output.js";
import type { OutputSpec } from "./frame-output.js";
import { deblurLive, type LiveFrame } from "./live.js";
import type { StreamMetrics } from "./metrics.js";
import { detectorOutput } from "./outputs/detector.js";
import { hlsLeg } from "./outputs/hls.js";
import { publishLeg } from "./outputs/publish.js";
import { recordingOutput } from "./outputs/recording.js";
import { sharedEncoder, type EncodedOutput, type SharedEncoderOptions } from "./outputs/shared-encoder.js";
import { viewerOutput } from "./outputs/viewer.js";
import type { LiveSourceSpec, ServeOptions } from "./serve-options.js";

/**
 * Restarts in a row, without a frame delivered between them, after which a camera's pipeline
 * counts as beyond mending: serve then exits non-zero, for its process manager to start afresh.
 */
const RESTARTS_BEFORE_GIVING_UP = 5;

export interface CameraContext {
  readonly options: ServeOptions;
  readonly metrics: StreamMetrics;
  readonly server: ViewerServer;
  /** Where HLS folders go (`<folder>/<stream>/`); null: no HLS. */
  readonly hlsFolder: string | null;
  /** Emits once when serve stops: the camera ends and its outputs finish what they hold. */
  readonly stopping: Observable<void>;
}

/** One camera being served. */
export interface ServedCamera {
  /** Settles once the camera's stream has ended and every output has finished (its files playable). */
  readonly done: Promise<void>;
  /** Rejects when the pipeline failed beyond what restarts mend; never resolves. */
  readonly failed: Promise<never>;
  /** Stop its outputs now, finishing their files. Safe to call twice. */
  close(): Promise<void>;
}

function status(name: string, m: StreamMetrics): StreamStatus {
  const { live, lastLatencyMs, framesDropped, reconnects, lastDeblurredShare } = m.counts;
  return { stream: name, live, fps: m.fps(), latencyMs: lastLatencyMs, dropped: framesDropped, reconnects, deblurredShare: lastDeblurredShare };
}

/** What the camera's events mean to whoever runs serve: a line in the log, and the viewers' status. */
function reportEvents(source: LiveSourceSpec, { options, metrics, server }: CameraContext): (event: LiveEvent) => void {
  return (event) => {
    metrics.sourceEvent(event);
    if (event.type === "outage-start") {
      log.warn(`${source.name}: stream lost (${event.reason}); reconnecting`);
    } else if (event.type === "connected" && event.videoStreams > 1) {
      log.warn(`${source.name}: the camera sends ${event.videoStreams} video streams; only the first is deblurred`);
    } else if (event.type === "resized") {
      log.warn(`${source.name}: the camera is back at ${event.width}x${event.height} (was ${event.previousWidth}x${event.previousHeight}); deblurring at the new size, its model state started afresh`);
    } else if (event.type === "outage-end") {
      log.info(`${source.name}: back after ${(event.durationMs / 1000).toFixed(1)} s, about ${event.framesMissed} frames missed`);
    }
    server.status(status(source.name, metrics));
    options.onEvent?.(event);
  };
}

/**
 * Serve one camera: its frames deblurred, supervised, and fanned out to each output. A pipeline
 * that errors (the engine, an inference) is started again with its state afresh (a new
 * connection, a new model state) after the cameras' backoff, counted and logged; one that keeps
 * failing without a frame between is beyond mending and fails `failed`. Each output is attached
 * by attachOutput, which keeps the rules they share: adding an output is its file in outputs/
 * and one line here.
 */
export function serveCamera(source: LiveSourceSpec, context: CameraContext): ServedCamera {
  const { options, metrics, server, hlsFolder } = context;
  const { rtsp } = options;
  const backoff = { initialMs: rtsp.backoffMs, maxMs: rtsp.maxBackoffMs };
  let giveUp: (error: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (giveUp = reject));
  // Callers that only await `done` must not see an unhandled rejection.
  failed.catch(() => undefined);
  let failingSinceMs: number | null = null;
  const deblurred = rtspSource(source.url, {
    name: source.name,
    transport: rtsp.transport,
    stallTimeoutMs: rtsp.stallTimeoutMs,
    backoff,
    maxAttempts: null,
    onEvent: reportEvents(source, context),
  }).pipe(
    takeUntil(context.stopping),
    deblurLive(options.engine, { ...options, metrics }),
    tap(() => (failingSinceMs = null)),
    retry({
      resetOnSuccess: true,
      delay: (error: unknown, restarts: number) => {
        if (restarts > RESTARTS_BEFORE_GIVING_UP) throw error;
        const now = Date.now();
        failingSinceMs ??= now;
        metrics.restarting();
        log.error(`${source.name}: the stream failed (${briefly(error)}); starting it again, its state afresh`);
        return timer(reconnectDelay(restarts, now - failingSinceMs, backoff)).pipe(takeUntil(context.stopping));
      },
    }),
    tap({ error: (error: unknown) => giveUp(new Error(`${source.name}: the stream failed ${RESTARTS_BEFORE_GIVING_UP + 1} times in a row, restarts do not mend it: ${briefly(error)}`, { cause: error })) }),
    share(),
  );

  // The newest boxes; the detector runs beside the stream and may lag it by a frame or two.
  let found: readonly Detection[] = [];
  const detection = options.detect;
  const picture = ({ sharp }: LiveFrame) => (detection?.burnIn ? drawBoxes(sharp, found) : sharp);
  const publish = source.publish ?? options.publish?.replaceAll("{stream}", source.name) ?? null;
  const { name } = source;
  const encoding: SharedEncoderOptions = { stream: name, crf: options.encode.crf, stallTimeoutMs: rtsp.stallTimeoutMs, picture };
  const outputs: OutputSpec[] = [
    viewerOutput(server, () => status(name, metrics), () => found),
    ...(detection ? [detectorOutput({ detector: detection.detector, every: detection.every, jsonl: detection.output, found: (boxes) => (found = boxes) })] : []),
    ...(options.record ? [recordingOutput({ stream: name, path: recordingPath(options.record, options.sources.length, name), segmentMs: options.recordSegmentMs, encode: options.encode, picture })] : []),
    ...encodedOnce([
      ...(publish ? [publishLeg({ ...encoding, url: publish, transport: rtsp.transport })] : []),
      ...(hlsFolder ? [hlsLeg({ ...encoding, folder: hlsFolder })] : []),
    ], encoding),
  ];
  const attached = outputs.map((spec) => attachOutput(deblurred, spec, { stream: name, backoff, metrics }));
  return {
    done: Promise.all(attached.map((output) => output.done)).then(() => undefined),
    failed,
    close: async () => {
      await Promise.all(attached.map((output) => output.close()));
    },
  };
}

/** Outputs whose H.264 is the same (RTSP out, HLS): one encoder where there are several, each its own where one. */
function encodedOnce(outputs: readonly EncodedOutput[], options: SharedEncoderOptions): OutputSpec[] {
  return outputs.length > 1 ? sharedEncoder(outputs, options) : outputs.map((output) => output.spec);
}

/** The camera's recording: `record` as given, or with the camera's name inserted when there are several. */
function recordingPath(record: string, cameras: number, stream: string): string {
  return cameras > 1 ? record.replace(/(\.[^./]+)$/, `-${stream}$1`) : record;
}
