import { Observable } from "rxjs";
import { redact } from "../redact.js";
import { findFfmpeg, findFfprobe, rtspInputArgs } from "../ffmpeg/locate.js";
import { probe } from "../ffmpeg/probe.js";
import { FfmpegProcess } from "../ffmpeg/process.js";
import type { Frame, VideoInfo } from "../types.js";
import { PpmReader } from "./frame-reader.js";
import { reconnectDelay, type Backoff } from "../reconnect.js";
import { EXACT_COLOUR } from "../ffmpeg/exact-colour.js";

const FIRST_FRAME_GRACE_MS = 10_000;

export interface RtspSourceOptions {
  /** Stream name put on frames and events (never the URL, which may hold credentials). */
  readonly name: string;
  readonly transport: "tcp" | "udp";
  /** No frame for this long counts as a lost stream. */
  readonly stallTimeoutMs: number;
  /** Reconnection delay: doubles from `initialMs` up to `maxMs` (see `reconnectDelay`). */
  readonly backoff: Backoff;
  /** Give up after this many failed attempts in a row; null: retry forever. */
  readonly maxAttempts: number | null;
  readonly onEvent?: (event: LiveEvent) => void;
}

export type LiveEvent =
  | { readonly type: "connected"; readonly stream: string; readonly width: number; readonly height: number; readonly fps: number; readonly videoStreams: number }
  | { readonly type: "outage-start"; readonly stream: string; readonly atMs: number; readonly reason: string }
  | { readonly type: "outage-end"; readonly stream: string; readonly atMs: number; readonly durationMs: number; readonly framesMissed: number }
  /** The camera came back at another size: frames now come at it, with a discontinuity. */
  | { readonly type: "resized"; readonly stream: string; readonly width: number; readonly height: number; readonly previousWidth: number; readonly previousHeight: number };

/**
 * Frames of a live camera (rtsp:// or rtsps://), read through ffmpeg. When the stream stops
 * (server down, network cut, no frame for `stallTimeoutMs`) it reconnects, quickly at first
 * and then with capped, jittered exponential backoff (`reconnectDelay`), reports each outage
 * once (start, end, frames missed at the camera's rate), and marks the first frame after it
 * as a discontinuity so the model state resets. A camera back at another resolution is taken
 * at its new size (a `resized` event says so once).
 * Frame times are arrival times on this machine's clock (`receivedAtMs`), where
 * capture-to-display latency starts. Credentials in the URL never reach a log, an event or an error.
 */
export function rtspSource(url: string, options: RtspSourceOptions): Observable<Frame> {
  return new Observable<Frame>((subscriber) => {
    let stopped = false;
    let decoder: FfmpegProcess | null = null;
    let wake: (() => void) | null = null;
    const started = Date.now();
    let index = 0;
    /** The size of the frames read last, to notice a camera back at another resolution. */
    let size: { width: number; height: number } | null = null;
    let outage: { since: number; fps: number } | null = null;
    /** Failed attempts in a row: they lengthen the wait before the next one. */
    let failures = 0;

    const emit = (event: LiveEvent) => options.onEvent?.(event);
    const beginOutage = (reason: string, fps: number) => {
      if (outage) return;
      outage = { since: Date.now(), fps };
      emit({ type: "outage-start", stream: options.name, atMs: outage.since, reason: redact(reason) });
    };
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });

    const stream = async (info: VideoInfo, announce: boolean): Promise<void> => {
      const ffmpeg = await findFfmpeg();
      // nobuffer and a short analysis keep capture-to-frame latency low on a live stream. PPM
      // images carry their size, so a camera back at another resolution is read at it without a
      // new probe (which would add a second or more to every recovery); within a connection
      // ffmpeg keeps the first size, so the pipe never misaligns.
      // Passthrough hands on every decoded frame as it comes: a constant frame rate drops every
      // frame after a camera's clock steps back (a shared stream restarts its timestamps when
      // another client joins) until the clock catches up again, and duplicates frames after a
      // step forward.
      decoder = new FfmpegProcess(ffmpeg.path, [
        "-nostdin", "-hide_banner", "-v", "error", "-fflags", "nobuffer", "-analyzeduration", "1000000",
        ...(await rtspInputArgs(ffmpeg, options.transport, options.stallTimeoutMs)),
        "-i", url, "-map", "0:v:0", "-vsync", "passthrough", ...EXACT_COLOUR, "-f", "image2pipe", "-c:v", "ppm", "-pix_fmt", "rgb24", "pipe:1",
      ]);
      const reader = new PpmReader(decoder.stdout);
      let first = true;
      while (!stopped) {
        // The first frame also waits for ffmpeg's stream analysis and the next key frame.
        const image = await withTimeout(reader.next(), first ? FIRST_FRAME_GRACE_MS + options.stallTimeoutMs : options.stallTimeoutMs);
        if (image === "timeout") throw new Error(`no frame for ${options.stallTimeoutMs} ms`);
        if (image === null) throw new Error(`stream ended (${decoder.stderr().split("\n").pop() || "no details"})`);
        const { width, height, rgb } = image;
        if (first) {
          failures = 0;
          if (size && (size.width !== width || size.height !== height)) {
            emit({ type: "resized", stream: options.name, width, height, previousWidth: size.width, previousHeight: size.height });
          }
          size = { width, height };
          if (announce) emitConnected({ ...info, width, height });
        }
        if (first && outage) {
          const now = Date.now();
          const durationMs = now - outage.since;
          emit({ type: "outage-end", stream: options.name, atMs: now, durationMs, framesMissed: Math.round((durationMs / 1000) * outage.fps) });
          outage = null;
        }
        const now = Date.now();
        subscriber.next({
          stream: options.name, index: index++, ptsMs: now - started, receivedAtMs: now, width, height, rgb,
          ...(first ? { discontinuity: true } : {}),
        });
        first = false;
      }
    };

    const emitConnected = (info: VideoInfo) =>
      emit({ type: "connected", stream: options.name, width: info.width, height: info.height, fps: info.fps, videoStreams: info.videoStreams });

    const run = async (): Promise<void> => {
      // The camera as first probed. Reconnections skip ffprobe, whose analysis would add a
      // second or more to every recovery: the frames themselves say their size.
      let known: VideoInfo | null = null;
      while (!stopped) {
        try {
          if (known === null) {
            const args = await rtspInputArgs(await findFfprobe(), options.transport, options.stallTimeoutMs);
            known = await probe(url, args, FIRST_FRAME_GRACE_MS + options.stallTimeoutMs);
            if (stopped) return;
            emitConnected(known);
            await stream(known, false);
          } else {
            await stream(known, true);
          }
        } catch (error) {
          if (stopped) return;
          beginOutage((error as Error).message, known?.fps ?? 25);
          failures++;
          if (options.maxAttempts !== null && failures >= options.maxAttempts) {
            throw new Error(`${options.name}: gave up after ${failures} failed attempts: ${redact((error as Error).message)}`);
          }
        } finally {
          await decoder?.close();
          decoder = null;
        }
        await sleep(reconnectDelay(failures, Date.now() - (outage?.since ?? Date.now()), options.backoff));
      }
    };
    run().then(
      () => subscriber.complete(),
      (error: unknown) => subscriber.error(error),
    );

    return () => {
      stopped = true;
      wake?.();
      void decoder?.close();
    };
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
