import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { concatMap, map, merge, share, Subject, Subscription, takeUntil, timer, firstValueFrom, type Observable } from "rxjs";
import type { DeblurStreamOptions } from "../deblur/deblur-stream.js";
import type { Engine } from "../engine/engine.js";
import type { Detection } from "../types.js";
import type { Detector } from "../detector/detector.js";
import { drawBoxes } from "../sinks/draw-boxes.js";
import { HlsWriter } from "../sinks/hls.js";
import { RtspPublisher, type PublishEvent } from "../sinks/rtsp-publish.js";
import type { EncodeOptions } from "../sinks/file.js";
import type { JsonLinesSink } from "../sinks/jsonl.js";
import { ViewerServer, type StreamStatus, type ViewerServerOptions } from "../sinks/viewer/server.js";
import { rtspSource, type LiveEvent } from "../sources/rtsp.js";
import { detect } from "./detect.js";
import { deblurLive, type LiveFrame } from "./live.js";
import { dropOldest } from "./drop-oldest.js";
import { LiveMetrics, type StreamMetrics } from "./metrics.js";
import { Recorder } from "./recorder.js";
import { log } from "../log.js";
import { redact } from "../redact.js";

/** Deblurred frames that may wait for a live recording's encoder: a few seconds of video. */
const RECORDING_QUEUE = 64;

/**
 * On close, how long the frames already taken from the cameras may take to finish (the one in
 * inference, those waiting for the recording) before they are cut off: stopping stays prompt.
 */
const DRAIN_MS = 2500;

export interface LiveSourceSpec {
  readonly name: string;
  readonly url: string;
  /** Push its deblurred stream to this RTSP server (overrides ServeOptions.publish). */
  readonly publish?: string;
}

export interface ServeOptions extends DeblurStreamOptions {
  readonly sources: readonly LiveSourceSpec[];
  /** Shared by every stream; a `batchingEngine` lets their frames share inferences. */
  readonly engine: Engine;
  /** Frames per stream that may wait for the model before the oldest is dropped. */
  readonly queue: number;
  readonly rtsp: { readonly transport: "tcp" | "udp"; readonly stallTimeoutMs: number; readonly backoffMs: number; readonly maxBackoffMs: number };
  /** The page's server; with `hls`, each stream as HLS there too (at /hls/<stream>/index.m3u8). */
  readonly viewer: Omit<ViewerServerOptions, "metrics" | "onViewers" | "hls"> & { readonly hls: boolean };
  /** Record each stream's deblurred frames here (`name` is inserted when there are several). */
  readonly record: string | null;
  readonly encode: EncodeOptions;
  /** Push every deblurred stream to an RTSP server: a URL where {stream} is the camera's name; null: none. */
  readonly publish: string | null;
  /** Detect objects on the deblurred frames: boxes on the page, JSON lines, burnt into recordings. */
  readonly detect?: { readonly detector: Detector; readonly every: number; readonly output: JsonLinesSink | null; readonly burnIn: boolean };
  readonly onEvent?: (event: LiveEvent) => void;
}

export interface Serving {
  readonly url: string;
  readonly metrics: LiveMetrics;
  /** Stop the sources, finish the recordings (playable files) and close the server. Safe to call twice. */
  close(): Promise<void>;
}

function status(name: string, m: StreamMetrics): StreamStatus {
  const { live, lastLatencyMs, framesDropped, reconnects, lastDeblurredShare } = m.counts;
  return { stream: name, live, fps: m.fps(), latencyMs: lastLatencyMs, dropped: framesDropped, reconnects, deblurredShare: lastDeblurredShare };
}

/**
 * Deblur live cameras and fan the result out: to every viewer (each latest-only), to the
 * detector (latest-only) and to a recording (lossless with respect to the deblurred stream).
 * A slow viewer or detector never slows the recording or the other viewers; a lost camera
 * reconnects while the rest keeps running.
 */
export async function serve(options: ServeOptions): Promise<Serving> {
  const metrics = new LiveMetrics();
  // Each stream's playlist and segments, in a folder of this server's own, gone when it closes.
  const hlsFolder = options.viewer.hls ? await mkdtemp(join(tmpdir(), "dsanet-hls-")) : null;
  const server = await ViewerServer.start({
    ...options.viewer,
    hls: hlsFolder,
    metrics: () => metrics.toPrometheus(),
    onViewers: (count) => metrics.viewersConnected(count),
  });
  const subscription = new Subscription();
  const stopping = new Subject<void>();
  const drained: Promise<void>[] = [];
  const recorders: Recorder[] = [];
  const publishers: RtspPublisher[] = [];
  const playlists: HlsWriter[] = [];

  for (const source of options.sources) {
    const m = metrics.stream(source.name);
    const onEvent = (event: LiveEvent) => {
      m.sourceEvent(event);
      if (event.type === "outage-start") {
        log.warn(`${source.name}: stream lost (${event.reason}); reconnecting`);
      } else if (event.type === "connected" && event.videoStreams > 1) {
        log.warn(`${source.name}: the camera sends ${event.videoStreams} video streams; only the first is deblurred`);
      } else if (event.type === "resized") {
        log.warn(`${source.name}: the camera is back at ${event.width}x${event.height} (was ${event.previousWidth}x${event.previousHeight}); deblurring at the new size, its model state started afresh`);
      } else if (event.type === "outage-end") {
        log.info(`${source.name}: back after ${(event.durationMs / 1000).toFixed(1)} s, about ${event.framesMissed} frames missed`);
      }
      server.status(status(source.name, m));
      options.onEvent?.(event);
    };
    const frames = rtspSource(source.url, {
      name: source.name,
      transport: options.rtsp.transport,
      stallTimeoutMs: options.rtsp.stallTimeoutMs,
      backoff: { initialMs: options.rtsp.backoffMs, maxMs: options.rtsp.maxBackoffMs },
      maxAttempts: null,
      onEvent,
    }).pipe(takeUntil(stopping));
    const deblurred = frames.pipe(deblurLive(options.engine, { ...options, metrics: m }), share());
    // The newest boxes; the detector runs beside the stream and may lag it by a frame or two.
    let found: readonly Detection[] = [];
    // Latest-only: while the server sends one frame, a newer one replaces the frame waiting.
    const toViewers = deblurred.pipe(dropOldest(1, (f) => server.publish(f.original, f.sharp, status(source.name, m), found)));
    const outputs: Observable<unknown>[] = [toViewers];
    const detection = options.detect;
    if (detection) {
      outputs.push(
        deblurred.pipe(
          map(({ sharp }) => sharp),
          detect(detection.detector, { every: detection.every }),
          concatMap(async (result) => {
            found = result.detections;
            await detection.output?.write(result);
          }),
        ),
      );
    }
    if (options.record) {
      const path = options.sources.length > 1 ? options.record.replace(/(\.[^./]+)$/, `-${source.name}$1`) : options.record;
      const recorder = new Recorder(source.name, path, options.encode, m);
      recorders.push(recorder);
      // Bounded like every live queue: an encoder slower than inference (likely beside a GPU)
      // drops the oldest waiting frames, counted, instead of queueing without end.
      const record = ({ sharp }: LiveFrame) => recorder.write(detection?.burnIn ? drawBoxes(sharp, found) : sharp);
      outputs.push(deblurred.pipe(dropOldest(RECORDING_QUEUE, record, () => m.recordingDropped())));
    }
    const publishTo = source.publish ?? options.publish?.replaceAll("{stream}", source.name) ?? null;
    if (publishTo) {
      const onPublish = (event: PublishEvent) => {
        m.publishEvent(event);
        if (event.type === "lost") {
          log.warn(`${source.name}: publishing to ${redact(publishTo)} failed (${event.reason}); retrying`);
        } else if (event.type === "back") {
          log.info(`${source.name}: publishing to ${redact(publishTo)} again after ${(event.durationMs / 1000).toFixed(1)} s`);
        } else {
          log.info(`${source.name}: publishing ${event.width}x${event.height} to ${redact(publishTo)}`);
        }
      };
      const { transport, stallTimeoutMs, backoffMs, maxBackoffMs } = options.rtsp;
      const backoff = { initialMs: backoffMs, maxMs: maxBackoffMs };
      const publisher = new RtspPublisher({ stream: source.name, url: publishTo, transport, stallTimeoutMs, backoff, crf: options.encode.crf, onEvent: onPublish });
      publishers.push(publisher);
      // Latest-only, as a viewer: a slow or absent server costs one waiting frame, never the other outputs.
      const publish = async ({ sharp }: LiveFrame) => {
        if ((await publisher.publish(detection?.burnIn ? drawBoxes(sharp, found) : sharp)) === "dropped") m.publishDropped();
      };
      outputs.push(deblurred.pipe(dropOldest(1, publish, () => m.publishDropped())));
    }
    if (hlsFolder) {
      const playlist = new HlsWriter(join(hlsFolder, source.name), source.name, options.encode.crf);
      playlists.push(playlist);
      outputs.push(deblurred.pipe(dropOldest(1, ({ sharp }) => playlist.write(sharp), () => m.hlsDropped())));
    }
    drained.push(
      new Promise((resolve) => {
        subscription.add(
          merge(...outputs).subscribe({
            error: (error: Error) => {
              log.error(`${source.name}: ${redact(error.message)}`);
              resolve();
            },
            complete: resolve,
          }),
        );
      }),
    );
  }

  const stop = async () => {
    // Stop the cameras, and let the frames they already sent complete their way down (every
    // stage's completion waits for its work in flight): a deblurred frame is recorded.
    stopping.next();
    await Promise.race([Promise.all(drained), firstValueFrom(timer(DRAIN_MS))]);
    subscription.unsubscribe();
    await Promise.all([...recorders, ...publishers, ...playlists].map((sink) => sink.close()));
    await server.close();
    if (hlsFolder) await rm(hlsFolder, { recursive: true, force: true });
  };
  let closing: Promise<void> | null = null;
  return {
    url: server.url,
    metrics,
    close: () => (closing ??= stop()),
  };
}
