import { findFfmpeg } from "../ffmpeg/locate.js";
import { redact } from "../redact.js";
import { reconnectDelay, type Backoff } from "../reconnect.js";
import type { Frame } from "../types.js";
import { FrameEncoder } from "./frame-encoder.js";

export interface RtspPublishOptions {
  /** The stream's name, for events (never the URL, which may hold credentials). */
  readonly stream: string;
  /** Where to push: an RTSP server that takes publishers (MediaMTX, go2rtc, Frigate's restream). */
  readonly url: string;
  readonly transport: "tcp" | "udp";
  /** A server that takes no frame for this long counts as lost (ffmpeg's RTSP output has no timeout of its own). */
  readonly stallTimeoutMs: number;
  /** Reconnection delay, as for cameras (see reconnectDelay). */
  readonly backoff: Backoff;
  /** x264's constant rate factor. */
  readonly crf: number;
  readonly onEvent?: (event: PublishEvent) => void;
}

export type PublishEvent =
  | { readonly type: "publishing"; readonly stream: string; readonly width: number; readonly height: number }
  | { readonly type: "lost"; readonly stream: string; readonly reason: string }
  | { readonly type: "back"; readonly stream: string; readonly durationMs: number };

/**
 * What a frame offered to the publisher became: sent to the server's encoder, or dropped
 * because no server takes frames now (it is waiting to reconnect).
 */
export type Published = "sent" | "dropped";

/**
 * Pushes a live stream to an RTSP server, H.264 at the frames' own pace (each stamped by wall
 * clock as it comes, so the stream runs at the camera's rate), with a key frame every second
 * so that a reader joining, or the server's own recorder, starts within a second. When the
 * server goes away (refused, gone, or taking nothing for `stallTimeoutMs`), the frames until
 * the next attempt are dropped, and the next attempt waits as long as a camera's reconnection
 * would (capped, jittered backoff). There is no timer: frames coming in drive the attempts.
 * A camera back at another size restarts the stream at that size.
 */
export class RtspPublisher {
  private encoder: FrameEncoder | null = null;
  private size = "";
  /** Failed attempts in a row, when the next may start, and when the present outage began. */
  private failures = 0;
  private retryAtMs = 0;
  private lostSinceMs: number | null = null;
  private closed = false;

  constructor(private readonly options: RtspPublishOptions) {}

  async publish(frame: Frame): Promise<Published> {
    if (this.closed) return "dropped";
    const size = `${frame.width}x${frame.height}`;
    if (this.encoder && size !== this.size) await this.stop();
    if (!this.encoder && Date.now() < this.retryAtMs) return "dropped";
    const encoder = this.encoder ?? (await this.start(frame));
    try {
      await withStallTimeout(encoder.write(frame), this.options.stallTimeoutMs);
      return "sent";
    } catch (error) {
      if (this.encoder === encoder) {
        this.encoder = null;
        await encoder.close();
        this.failed(encoder, error as Error);
      }
      return "dropped";
    }
  }

  /** End the stream (the server sees the publisher leave). Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
  }

  private async start(frame: Frame): Promise<FrameEncoder> {
    const ffmpeg = await findFfmpeg();
    const { url, transport, crf } = this.options;
    const timing = { clock: "wallclock" } as const;
    const encoder: FrameEncoder = new FrameEncoder(ffmpeg.path, {
      label: this.options.stream,
      width: frame.width,
      height: frame.height,
      timing,
      output: [
        // At info, ffmpeg says "Output #0, rtsp" once the server has taken the stream (ANNOUNCE,
        // SETUP and RECORD done): the moment the publisher counts as connected.
        "-v", "info",
        // H.264 4:2:0, which every reader decodes, holds even sizes only: an odd last row or column is cut.
        "-map", "0:v:0", "-vf", "crop=trunc(iw/2)*2:trunc(ih/2)*2",
        "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-crf", String(crf), "-pix_fmt", "yuv420p",
        "-force_key_frames", "expr:gte(t,n_forced*1)",
        ...FrameEncoder.timingArgs(timing),
        "-f", "rtsp", "-rtsp_transport", transport, url,
      ],
      onStderrLine: (line) => {
        if (line.startsWith("Output #0, rtsp")) this.connected(encoder, frame);
      },
    });
    // A server that refuses or drops the stream ends ffmpeg: the publisher waits, then tries again.
    encoder.process.done.then(
      () => this.ended(encoder, new Error("the stream ended")),
      (error: Error) => this.ended(encoder, error),
    );
    this.encoder = encoder;
    this.size = `${frame.width}x${frame.height}`;
    return encoder;
  }

  private connected(encoder: FrameEncoder, frame: Frame): void {
    if (this.encoder !== encoder) return;
    const { stream } = this.options;
    if (this.lostSinceMs === null) this.options.onEvent?.({ type: "publishing", stream, width: frame.width, height: frame.height });
    else this.options.onEvent?.({ type: "back", stream, durationMs: Date.now() - this.lostSinceMs });
    this.lostSinceMs = null;
    this.failures = 0;
  }

  /** ffmpeg ended by itself (the publisher's own stops leave `encoder` behind first). */
  private ended(encoder: FrameEncoder, error: Error): void {
    if (this.encoder !== encoder) return;
    this.encoder = null;
    this.failed(encoder, error);
  }

  /** An attempt failed or a stream was lost: say so once an outage, and wait before the next attempt. */
  private failed(encoder: FrameEncoder, error: Error): void {
    this.failures++;
    const now = Date.now();
    if (this.lostSinceMs === null) {
      this.lostSinceMs = now;
      const reason = redact(encoder.process.stderr().split("\n").pop() || error.message);
      this.options.onEvent?.({ type: "lost", stream: this.options.stream, reason });
    }
    this.retryAtMs = now + reconnectDelay(this.failures, now - this.lostSinceMs, this.options.backoff);
  }

  /** End the encoder's stream: its end of input first (ffmpeg tells the server), then a stop if that hangs. */
  private async stop(): Promise<void> {
    const encoder = this.encoder;
    this.encoder = null;
    if (!encoder) return;
    await withStallTimeout(encoder.finish(), this.options.stallTimeoutMs).catch(() => undefined);
    await encoder.close();
  }
}

/** `work`, or a rejection once it has taken `ms`: a server that takes nothing blocks ffmpeg, and ffmpeg its input. */
async function withStallTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the server took nothing for ${ms} ms`)), ms)));
  try {
    return await Promise.race([work, stalled]);
  } finally {
    clearTimeout(timer);
  }
}
