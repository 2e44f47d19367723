import { findFfmpeg } from "../ffmpeg/locate.js";
import type { Frame } from "../types.js";
import { FrameEncoder } from "./frame-encoder.js";
import { liveH264Args } from "./live-h264.js";
import { muxerArgs, type Muxer } from "./muxer.js";

export interface RtspPublishOptions {
  /** The stream's name, for messages (never the URL, which may hold credentials). */
  readonly stream: string;
  /** Where to push: an RTSP server that takes publishers (MediaMTX, go2rtc, Frigate's restream). */
  readonly url: string;
  readonly transport: "tcp" | "udp";
  /** A server that takes no frame for this long counts as lost (ffmpeg's RTSP output has no timeout of its own). */
  readonly stallTimeoutMs: number;
  /** x264's constant rate factor. */
  readonly crf: number;
  readonly width: number;
  readonly height: number;
}

/**
 * One session pushing a live stream to an RTSP server: H.264 at the frames' own pace (each
 * stamped by wall clock as it comes, so the stream runs at the camera's rate), with a key frame
 * every second so that a reader joining, or the server's own recorder, starts within a second.
 * A server that refuses, drops or stops taking the stream (nothing for `stallTimeoutMs`) ends
 * the session: `write` rejects, and whoever runs it starts another (see attachOutput).
 */
export class RtspPublisher {
  /** Resolves once the server has taken the stream (ANNOUNCE, SETUP and RECORD done). */
  readonly up: Promise<void>;

  private constructor(
    private readonly encoder: FrameEncoder,
    up: Promise<void>,
    private readonly stallTimeoutMs: number,
  ) {
    this.up = up;
  }

  static async start(options: RtspPublishOptions): Promise<RtspPublisher> {
    const ffmpeg = await findFfmpeg();
    const { url, transport, crf, width, height } = options;
    let taken = (): void => undefined;
    const up = new Promise<void>((resolve) => (taken = resolve));
    const encoder = new FrameEncoder(ffmpeg.path, {
      label: options.stream,
      width,
      height,
      timing: { clock: "wallclock" },
      // At info, ffmpeg says "Output #0, rtsp" once the server has taken the stream: the moment the session is up.
      output: ["-v", "info", ...liveH264Args(crf), ...muxerArgs(rtspMuxer(url, transport))],
      onStderrLine: (line) => line.startsWith("Output #0, rtsp") && taken(),
    });
    return new RtspPublisher(encoder, up, options.stallTimeoutMs);
  }

  /** Send a frame; rejects once the session has ended (refused, dropped, killed) or the server took nothing for stallTimeoutMs. */
  write(frame: Frame): Promise<void> {
    return withStallTimeout(this.encoder.write(frame), this.stallTimeoutMs);
  }

  /** End the session: its end of input first (ffmpeg tells the server), then a stop if that hangs. Safe to call twice. */
  async close(): Promise<void> {
    await withStallTimeout(this.encoder.finish(), this.stallTimeoutMs).catch(() => undefined);
    await this.encoder.close();
  }
}

/** The RTSP muxer that pushes to `url` (ANNOUNCE, then RECORD) over `transport`. */
export function rtspMuxer(url: string, transport: "tcp" | "udp"): Muxer {
  return { format: "rtsp", options: [["rtsp_transport", transport]], target: url };
}

/** An encoder's server took nothing for the stall timeout: it has stopped reading the stream. */
export class StallError extends Error {
  override name = "StallError";
}

/** `work`, or a StallError once it has taken `ms`: a server that takes nothing blocks ffmpeg, and ffmpeg its input. */
export async function withStallTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new StallError(`the server took nothing for ${ms} ms`)), ms)));
  try {
    return await Promise.race([work, stalled]);
  } finally {
    clearTimeout(timer);
  }
}
