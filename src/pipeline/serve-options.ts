import type { DeblurStreamOptions } from "../deblur/deblur-stream.js";
import type { Detector } from "../detector/detector.js";
import type { Engine } from "../engine/engine.js";
import type { EncodeOptions } from "../sinks/file.js";
import type { JsonLinesSink } from "../sinks/jsonl.js";
import type { ViewerServerOptions } from "../sinks/viewer/server.js";
import type { LiveEvent } from "../sources/rtsp.js";

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
  /** The cameras' connection; their backoff paces every restart (a pipeline, an output). `stallTimeoutMs` is also how long anything may be down before /healthz says so. */
  readonly rtsp: { readonly transport: "tcp" | "udp"; readonly stallTimeoutMs: number; readonly backoffMs: number; readonly maxBackoffMs: number };
  /** The page's server; with `hls`, each stream as HLS there too (at /hls/<stream>/index.m3u8). */
  readonly viewer: Omit<ViewerServerOptions, "metrics" | "health" | "onViewers" | "hls"> & { readonly hls: boolean };
  /** Record each stream's deblurred frames here (`name` is inserted when there are several). */
  readonly record: string | null;
  /** Cut the recording in segments of this many ms, each named by its start time; null: one file (a failure starts the next). */
  readonly recordSegmentMs: number | null;
  readonly encode: EncodeOptions;
  /** Push every deblurred stream to an RTSP server: a URL where {stream} is the camera's name; null: none. */
  readonly publish: string | null;
  /** Detect objects on the deblurred frames: boxes on the page, JSON lines, burnt into recordings. */
  readonly detect?: { readonly detector: Detector; readonly every: number; readonly output: JsonLinesSink | null; readonly burnIn: boolean };
  readonly onEvent?: (event: LiveEvent) => void;
}
