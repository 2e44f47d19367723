import { rm } from "node:fs/promises";
import { ReplaySubject, firstValueFrom, timer } from "rxjs";
import { ViewerServer } from "../sinks/viewer/server.js";
import { serveCamera } from "./camera.js";
import { makeHlsFolder } from "./hls-folder.js";
import { LiveMetrics } from "./metrics.js";
import type { ServeOptions } from "./serve-options.js";

/**
 * On close, how long the frames already taken from the cameras may take to finish (the one in
 * inference, those waiting for the recording) before they are cut off: stopping stays prompt.
 */
const DRAIN_MS = 2500;

export type { LiveSourceSpec, ServeOptions } from "./serve-options.js";

export interface Serving {
  readonly url: string;
  readonly metrics: LiveMetrics;
  /** Rejects when a camera's pipeline fails beyond what restarts mend (serve should then exit non-zero); never resolves. */
  readonly failed: Promise<never>;
  /** Stop the sources, finish the recordings (playable files) and close the server. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Deblur live cameras and fan the result out, each camera composed by serveCamera: to every
 * viewer (each latest-only), to the detector (latest-only), to a recording (lossless with
 * respect to the deblurred stream), HLS and RTSP out. A slow or failed output never slows
 * the others; a lost camera reconnects while the rest keeps running; /healthz says 503 while
 * a camera or an output has been down for longer than the cameras' stall timeout.
 */
export async function serve(options: ServeOptions): Promise<Serving> {
  const metrics = new LiveMetrics();
  // Each stream's playlist and segments, in a folder of this server's own, gone when it closes.
  const hlsFolder = options.viewer.hls ? await makeHlsFolder() : null;
  const server = await ViewerServer.start({
    ...options.viewer,
    hls: hlsFolder,
    metrics: () => metrics.toPrometheus(),
    health: () => [...metrics.streams].flatMap(([stream, m]) => m.problems(stream, options.rtsp.stallTimeoutMs)),
    onViewers: (count) => metrics.viewersConnected(count),
  });
  // Replays to a restart that begins after the stop: it ends at once instead of running on.
  const stopping = new ReplaySubject<void>(1);
  const cameras = options.sources.map((source) => serveCamera(source, { options, metrics: metrics.stream(source.name), server, hlsFolder, stopping }));

  const stop = async () => {
    // Stop the cameras, and let the frames they already sent complete their way down (every
    // stage's completion waits for its work in flight): a deblurred frame is recorded.
    stopping.next();
    await Promise.race([Promise.all(cameras.map((camera) => camera.done)), firstValueFrom(timer(DRAIN_MS))]);
    await Promise.all(cameras.map((camera) => camera.close()));
    await server.close();
    if (hlsFolder) await rm(hlsFolder, { recursive: true, force: true });
  };
  let closing: Promise<void> | null = null;
  const failed = Promise.race(cameras.map((camera) => camera.failed));
  failed.catch(() => undefined);
  return {
    url: server.url,
    metrics,
    failed,
    close: () => (closing ??= stop()),
  };
}
