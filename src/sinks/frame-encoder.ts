import { once } from "node:events";
import { FfmpegProcess } from "../ffmpeg/process.js";
import { log } from "../log.js";
import type { Frame } from "../types.js";
import { timedFramePrefix, timedFramesHeader } from "./timed-frames.js";
import { EXACT_COLOUR } from "../ffmpeg/exact-colour.js";

/**
 * When each frame is shown. `pts`: at the frame's own `ptsMs` (a file's decoded timestamps,
 * variable frame rate included), in the input's time base ("1/15360"), which the output keeps
 * where its container can (MP4 can, Matroska counts milliseconds); `frameRate` is the average,
 * a hint for players. `wallclock`: live streams, each frame stamped when it reaches the encoder.
 */
export type FrameTiming =
  | { readonly clock: "pts"; readonly timeBase: string; readonly frameRate: string }
  | { readonly clock: "wallclock" };

/** Live streams count time in the RTP video clock's unit. */
const WALLCLOCK_TIME_BASE = "1/90000";

/** The time base an encoder of `timing` counts in. */
export function timeBase(timing: FrameTiming): string {
  return timing.clock === "pts" ? timing.timeBase : WALLCLOCK_TIME_BASE;
}

/** A rational "num/den" as a number; 0 when it is not one. */
function rate(text: string): number {
  const [num, den] = text.split("/").map(Number);
  return num && den ? num / den : 0;
}

/** Nanoseconds per tick of a time base: the least step between two frames' times. */
function tickNs(base: string): number {
  return 1e9 * (rate(base) || 1 / 1000);
}

export interface FrameEncoderOptions {
  /** What the messages call it: the output file, or a stream's name. */
  readonly label: string;
  readonly width: number;
  readonly height: number;
  readonly timing: FrameTiming;
  /** ffmpeg's arguments after the frames' input (`-i pipe:0`): other inputs, maps, codecs, the output. */
  readonly output: readonly string[];
  readonly onStderrLine?: (line: string) => void;
}

/**
 * An ffmpeg that encodes RGB24 frames, each at its own time: the frames reach it as a small
 * Matroska stream on its stdin (timed-frames.ts), where a raw-video pipe could only stamp them
 * at a constant rate. What it makes of them, a file, an RTSP stream, an HLS playlist, is in
 * `output`. `write` resolves once ffmpeg has taken the frame (a slow encoder slows its
 * caller) and rejects once ffmpeg has gone, with the reason it went.
 */
export class FrameEncoder {
  readonly process: FfmpegProcess;
  /** The last time written, in ns; whether a frame out of order has been told about. */
  private lastNs: number | null = null;
  private toldOrder = false;
  /** Wallclock: when the first frame came (ms, performance.now), time 0 of the stream. */
  private firstAtMs: number | null = null;

  constructor(
    ffmpeg: string,
    private readonly options: FrameEncoderOptions,
  ) {
    const { width, height, timing } = options;
    this.process = new FfmpegProcess(
      ffmpeg,
      // -copyts keeps every time as written, the start included, so that a file's audio stays in
      // step; each frame keeps its time (no constant rate made up), counted in the input's unit.
      ["-hide_banner", "-nostats", "-v", "error", "-y", "-copyts", "-f", "matroska", "-i", "pipe:0", ...EXACT_COLOUR, ...options.output],
      { stdin: true, ...(options.onStderrLine ? { onStderrLine: options.onStderrLine } : {}) },
    );
    const frameRate = timing.clock === "pts" ? rate(timing.frameRate) : 0;
    this.process.stdin?.write(timedFramesHeader(width, height, frameRate > 0 ? 1e9 / frameRate : 1e9 / 25));
  }

  /** The arguments that keep each frame's own time through the encoder (they belong among the output's). */
  static timingArgs(timing: FrameTiming): string[] {
    return ["-vsync", "passthrough", "-enc_time_base:v", timeBase(timing)];
  }

  /**
   * `atMs`: when a wallclock frame came, where that was before it reached this encoder (a
   * frame written again after its first encoder died keeps its place in time); on any clock of
   * milliseconds, the same for every frame of this encoder. Without it, now (performance.now()).
   */
  async write(frame: Frame, atMs?: number): Promise<void> {
    const { width, height, label } = this.options;
    if (frame.width !== width || frame.height !== height) {
      throw new Error(`${label}: a ${frame.width}x${frame.height} frame came for a ${width}x${height} video; frames of one video keep one size`);
    }
    const stdin = this.process.stdin;
    if (!stdin || stdin.destroyed) {
      await this.process.done;
      throw new Error(`${label}: the encoder has stopped`);
    }
    stdin.write(timedFramePrefix(BigInt(this.stamp(frame, atMs)), frame.rgb.length));
    // A pipe that breaks while it is full (EPIPE) rejects the wait for 'drain' before ffmpeg's
    // exit is known: the exit is the reason to give ("was killed by SIGKILL"), not the pipe's.
    if (!stdin.write(frame.rgb)) await Promise.race([once(stdin, "drain").catch(() => this.process.done), this.process.done]);
  }

  /** No more frames: resolves once ffmpeg has finished its output, rejects if it failed. */
  async finish(): Promise<void> {
    this.process.stdin?.end();
    await this.process.done;
  }

  /** Stop it without finishing its output. Safe to call twice. */
  close(): Promise<void> {
    return this.process.close();
  }

  /**
   * The frame's time in ns, at least one tick of the output's time base after the one before:
   * an encoder and a muxer refuse equal or backward times, which a damaged file can hold.
   */
  private stamp(frame: Frame, atMs = performance.now()): number {
    const { timing } = this.options;
    let ns: number;
    if (timing.clock === "pts") {
      ns = Math.round(frame.ptsMs * 1e6);
    } else {
      this.firstAtMs ??= atMs;
      ns = Math.round((atMs - this.firstAtMs) * 1e6);
    }
    const least = this.lastNs === null ? 0 : this.lastNs + Math.ceil(tickNs(timeBase(timing)));
    if (ns < least) {
      if (!this.toldOrder && timing.clock === "pts") {
        this.toldOrder = true;
        log.warn(`${this.options.label}: frame ${frame.index} at ${frame.ptsMs.toFixed(3)} ms comes before time 0 or not after the frame before; written one tick after it (the input's timestamps are out of order)`);
      }
      ns = least;
    }
    this.lastNs = ns;
    return ns;
  }
}
