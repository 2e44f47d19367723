import { Observable } from "rxjs";
import { InputVideoError } from "../errors.js";
import { findFfmpeg, hasFilter } from "../ffmpeg/locate.js";
import { FfmpegProcess } from "../ffmpeg/process.js";
import type { Frame, Gate, VideoInfo } from "../types.js";
import { FrameReader } from "./frame-reader.js";
import { EXACT_COLOUR } from "../ffmpeg/exact-colour.js";

export interface FileSourceOptions {
  /** Stream name put on each frame; the path by default. */
  readonly stream?: string;
  /** Lossless flow control: a slot is acquired before each frame is read. */
  readonly gate?: Gate;
  /** Only these frames: `count` frames from index `first` (a chunk of a long video). */
  readonly range?: FrameRange;
}

export interface FrameRange {
  readonly first: number;
  readonly count: number;
}

/** How many frame intervals short of the announced end we still call complete. */
const TRUNCATION_SLACK = 3;

/**
 * Decode every frame of a video file (anything ffmpeg reads) to RGB24, exactly once each and
 * in order: no frame-rate conversion (`passthrough`), rotation metadata applied, any bit depth
 * converted to 8 bits. Each frame carries its own presentation time, read from ffmpeg's
 * showinfo filter as an integer in the stream's time base (its rounded `pts_time` loses
 * milliseconds after an hour), so variable-frame-rate input keeps its timing to the tick. Scene cuts found by
 * ffmpeg's scdet filter mark the frame after the cut as a discontinuity.
 *
 * A truncated or damaged input first delivers every frame ffmpeg could decode, then errors.
 */
export function fileSource(path: string, info: VideoInfo, options: FileSourceOptions = {}): Observable<Frame> {
  const stream = options.stream ?? path;
  const { width, height } = info;
  const frameBytes = width * height * 3;

  return new Observable<Frame>((subscriber) => {
    const log = new DecoderLog();
    let decoder: FfmpegProcess | null = null;
    let stopped = false;

    const run = async (): Promise<void> => {
      const ffmpeg = await findFfmpeg();
      const filters = (await hasFilter(ffmpeg, "scdet")) ? "scdet,showinfo" : "showinfo";
      if (stopped) return;
      const range = options.range;
      // A range decodes from the start and drops the frames before it inside ffmpeg. Seeking
      // would be faster, but a container's key frames are not always clean entry points
      // (imageio's cockatoo.mp4 decodes to garbage after every seek), and decoding costs a
      // thousandth of inference per frame.
      const select = range ? `select=gte(n\\,${range.first}),` : "";
      const limit = range ? ["-frames:v", String(range.count)] : [];
      decoder = new FfmpegProcess(
        ffmpeg.path,
        // -copyts: times on the input's own clock, where its start time and audio are (ffmpeg
        // otherwise counts from 0, and a .ts file starting at 1.4 s looked truncated).
        ["-nostdin", "-hide_banner", "-nostats", "-copyts", "-i", path, "-map", "0:v:0", "-vf", select + filters, "-vsync", "passthrough", ...limit, ...EXACT_COLOUR, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
        { onStderrLine: (line) => log.parse(line) },
      );
      void decoder.done.catch(() => undefined).then(() => log.end());
      const reader = new FrameReader(decoder.stdout, frameBytes);
      let lastPtsMs = -Infinity;
      const first = range?.first ?? 0;
      for (let n = 0; ; n++) {
        await options.gate?.acquire();
        const rgb = await reader.next();
        if (rgb === null || stopped) break;
        const logged = await log.at(n);
        const index = first + n;
        const ptsMs = logged?.ptsMs ?? info.startMs + (index * 1000) / info.fps;
        lastPtsMs = ptsMs;
        subscriber.next({ stream, index, ptsMs, width, height, rgb, ...(logged?.cut ? { discontinuity: true } : {}) });
      }
      if (stopped) return;
      await decoder.done.catch((error: Error) => {
        throw new InputVideoError(`${path}: decoding stopped after ${reader.frames} frames: ${error.message}`);
      });
      const missing = range ? (reader.frames < range.count ? ` of the ${range.count} asked from frame ${range.first}` : null) : shortfall(info, reader.frames, lastPtsMs);
      if (reader.leftover > 0 || missing) {
        throw new InputVideoError(`${path}: truncated or damaged: decoded ${reader.frames} frames${missing ?? ""}`);
      }
      subscriber.complete();
    };
    run().catch((error: unknown) => subscriber.error(error));

    return () => {
      stopped = true;
      void decoder?.close();
    };
  });
}

/** How the decoded stream fell short of what the container announced, or null if it did not. */
function shortfall(info: VideoInfo, frames: number, lastPtsMs: number): string | null {
  if (info.frameCount !== null) {
    return frames < info.frameCount - TRUNCATION_SLACK ? ` of the ${info.frameCount} announced` : null;
  }
  if (info.durationMs === null) return null;
  const end = info.startMs + info.durationMs;
  const seconds = (ms: number) => (ms / 1000).toFixed(2);
  return lastPtsMs < end - (TRUNCATION_SLACK * 1000) / info.fps ? `, up to ${seconds(Math.max(lastPtsMs, 0))} s of the ${seconds(end)} s announced` : null;
}

/**
 * What ffmpeg's filters say of each frame on stderr: showinfo's `config in time_base: A/B`
 * gives the unit of its times, its `n: N pts: P` frame N's time in that unit, and a scdet
 * `lavfi.scd.time` line just before it marks a scene cut.
 */
class DecoderLog {
  private readonly frames = new Map<number, { ptsMs: number; cut: boolean }>();
  private waiter: (() => void) | null = null;
  private cutPending = false;
  private ended = false;
  /** Milliseconds per tick of the time base showinfo prints in; null until its config line. */
  private msPerTick: number | null = null;

  parse(line: string): void {
    if (line.includes("lavfi.scd.time")) {
      this.cutPending = true;
      return;
    }
    const config = /\bconfig in time_base:\s*(\d+)\/(\d+)/.exec(line);
    if (config?.[1] && config[2] && Number(config[2]) > 0) {
      this.msPerTick = (1000 * Number(config[1])) / Number(config[2]);
      return;
    }
    const match = /\bn:\s*(\d+)\s+pts:\s*(-?\d+)\s/.exec(line);
    if (!match?.[1] || !match[2] || this.msPerTick === null) return;
    this.frames.set(Number(match[1]), { ptsMs: Number(match[2]) * this.msPerTick, cut: this.cutPending });
    this.cutPending = false;
    this.waiter?.();
  }

  /** No more lines will come: the decoder has exited. */
  end(): void {
    this.ended = true;
    this.waiter?.();
  }

  /** What was logged of frame `index`, waiting for its line (stderr may trail stdout). */
  async at(index: number): Promise<{ ptsMs: number; cut: boolean } | undefined> {
    while (!this.frames.has(index) && !this.ended) {
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    const frame = this.frames.get(index);
    this.frames.delete(index);
    return frame;
  }
}
