import { mkdir, stat } from "node:fs/promises";
import { dirname, extname } from "node:path";
import { OutputError } from "../errors.js";
import { countFrames } from "../ffmpeg/frames.js";
import { findFfmpeg, hasMuxerOption, type Binary } from "../ffmpeg/locate.js";
import { writeFailure } from "../ffmpeg/write-failure.js";
import { log } from "../log.js";
import type { Frame } from "../types.js";
import { FrameEncoder, timeBase, type FrameTiming } from "./frame-encoder.js";
import { trimToWholeFragments } from "./fragmented-mp4.js";
import { PartialFile } from "./partial-file.js";

export type { FrameTiming } from "./frame-encoder.js";

export interface EncodeOptions {
  /** Video codec for lossy output (default libx264). */
  readonly codec: string;
  /** Constant rate factor for x264/x265 (lower is better; 18 is visually lossless). */
  readonly crf: number;
  readonly preset: string;
  /** Bit-exact RGB: FFV1 in .mkv, x264 RGB with qp 0 elsewhere. */
  readonly lossless: boolean;
}

export interface FileSinkOptions {
  readonly output: string;
  readonly width: number;
  readonly height: number;
  readonly timing: FrameTiming;
  /** Copy the audio of this file into the output (the input), or null for none. */
  readonly audioFrom: string | null;
  readonly audioCodec: string | null;
  readonly encode: EncodeOptions;
  /**
   * Write a container that plays however abruptly it ends (fragmented MP4; Matroska is so by
   * nature), for live recordings that a hard stop or a full disk may cut anywhere: what was
   * written before the cut is kept, also when the process exits before it finished the file.
   * Without B-frames, so that what a cut keeps is the first frames and no others: a B-frame is
   * stored after the frame it comes before, and a cut between them kept a frame and lost the
   * one before it, so a recording could not say which of its frames to write again.
   * Otherwise MP4s get their index first (faststart), for players that stream them.
   */
  readonly playableWhenCut?: boolean;
}

const MP4_FAMILY = [".mp4", ".mov", ".m4v"];

/** Audio codecs the MP4 family can hold as they are; anything else is re-encoded to AAC. */
const MP4_AUDIO = new Set(["aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"]);

export function audioArgs(output: string, codec: string | null): string[] {
  const container = extname(output).toLowerCase();
  const copyable = container === ".mkv" || (MP4_FAMILY.includes(container) && codec !== null && MP4_AUDIO.has(codec));
  return ["-c:a", copyable ? "copy" : container === ".webm" ? "libopus" : "aac"];
}

function videoArgs(output: string, width: number, height: number, encode: EncodeOptions): string[] {
  if (encode.lossless) {
    return extname(output).toLowerCase() === ".mkv"
      ? ["-c:v", "ffv1", "-level", "3", "-pix_fmt", "bgr0"]
      : ["-c:v", "libx264rgb", "-qp", "0", "-preset", encode.preset, "-pix_fmt", "rgb24"];
  }
  return ["-c:v", encode.codec, "-crf", String(encode.crf), "-preset", encode.preset, "-pix_fmt", lossyPixelFormat(output, width, height)];
}

/**
 * 4:2:0 (yuv420p, what every player decodes) for even sizes. H.264 and HEVC store 4:2:0
 * chroma and their cropping in units of two pixels, so an odd width or height cannot be held
 * in 4:2:0 at all: padding changed the size (641x359 came out 642x360) and cropping would
 * lose a row of the picture. Odd sizes go 4:4:4 instead (High 4:4:4 Predictive), which keeps
 * the exact size; ffmpeg, VLC, mpv and Apple's players play it, most browsers do not. Said once.
 */
function lossyPixelFormat(output: string, width: number, height: number): string {
  if (width % 2 === 0 && height % 2 === 0) return "yuv420p";
  log.info(`${output}: ${width}x${height} is odd, which 4:2:0 video cannot hold; encoding 4:4:4 (yuv444p) to keep the exact size (VLC, mpv and ffmpeg play it; most browsers need even sizes)`);
  return "yuv444p";
}

/**
 * MP4's index up front (faststart), or in fragments of at most a second when the file must
 * play however it is cut (a cut loses at most the last one); and its movie timescale in the
 * stream's time base: the edit that holds the start time is counted in it, and its default
 * (1000) moved a start of 733.333 ms to 733 ms, so every frame of a queue's chunk after the
 * first came 5 ticks early.
 */
export async function containerArgs(ffmpeg: Binary, output: string, base: string, playableWhenCut = false): Promise<string[]> {
  if (!MP4_FAMILY.includes(extname(output).toLowerCase())) return [];
  const ticks = Number(base.split("/")[1]);
  const exact = Number.isInteger(ticks) && ticks > 0 && (await hasMuxerOption(ffmpeg, "mp4", "movie_timescale"));
  // Each fragment goes to disk as it is cut (-flush_packets): by default ffmpeg holds output
  // until 32 KB have gathered, which at a camera's low rates is many seconds a crash would lose.
  const fragmented = ["-movflags", "+frag_keyframe+empty_moov+default_base_moof", "-frag_duration", "1000000", "-flush_packets", "1"];
  const layout = playableWhenCut ? fragmented : ["-movflags", "+faststart"];
  return [...layout, ...(exact ? ["-movie_timescale", String(ticks)] : [])];
}

/**
 * Encodes RGB24 frames to a video file with ffmpeg, keeping each frame's time (see
 * FrameTiming), the input's start time and audio. `write` resolves once ffmpeg has taken the
 * frame (so a slow encoder slows the chain); `close` finalises the file, which stays playable
 * whatever came before. The file appears under its name only once finalised (see PartialFile).
 * A failed write (a full disk) is an OutputError naming its cause, and never leaves an
 * unplayable file under the name.
 */
export class FileSink {
  private failure: OutputError | null = null;
  private closing: Promise<void> | null = null;
  /** After a failed close: the frames kept under the output's name (0: none, the file discarded); null otherwise. */
  private keptFrames: number | null = null;

  private constructor(
    private readonly encoder: FrameEncoder,
    private readonly file: PartialFile,
    private readonly options: FileSinkOptions,
  ) {}

  static async open(options: FileSinkOptions): Promise<FileSink> {
    const ffmpeg = await findFfmpeg();
    await mkdir(dirname(options.output), { recursive: true });
    const playableWhenCut = options.playableWhenCut ?? false;
    // A file that plays however it was cut is worth keeping if the process dies; any other is not.
    const file = new PartialFile(options.output, playableWhenCut ? "keep" : "discard");
    const { width, height, timing } = options;
    const withAudio = options.audioFrom !== null && options.audioCodec !== null;
    const output = [
      ...(withAudio && options.audioFrom ? ["-i", options.audioFrom, "-map", "0:v:0", "-map", "1:a:0", ...audioArgs(options.output, options.audioCodec), "-shortest"] : ["-map", "0:v:0"]),
      ...videoArgs(options.output, width, height, options.encode),
      ...(playableWhenCut ? ["-bf", "0"] : []),
      ...FrameEncoder.timingArgs(timing),
      ...(await containerArgs(ffmpeg, options.output, timeBase(timing), playableWhenCut)),
      file.path,
    ];
    let sink: FileSink | null = null;
    // stderr lines come in later events, once `sink` is set.
    const encoder = new FrameEncoder(ffmpeg.path, { label: options.output, width, height, timing, output, onStderrLine: (line) => sink?.watch(line) });
    sink = new FileSink(encoder, file, options);
    return sink;
  }

  /** `atMs`: a wallclock frame's time, where it is not now (FrameEncoder.write). */
  async write(frame: Frame, atMs?: number): Promise<void> {
    if (this.failure) throw this.failure;
    try {
      await this.encoder.write(frame, atMs);
    } catch (error) {
      // A pipe broken by ffmpeg's exit (EPIPE) can come before the stderr line that says why
      // (a full disk): wait for its stderr to drain, then report the cause it names.
      if (!this.failure) await this.encoder.close().catch(() => undefined);
      throw this.failure ?? error;
    }
    if (this.failure) throw this.failure;
  }

  /**
   * Finish the file: no more frames; resolves when ffmpeg has written it under its name. After
   * a failure the file is discarded, except what a playable-when-cut file holds, which is kept
   * under its name; the failure is thrown either way. Safe to call twice: both calls settle together.
   */
  close(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    try {
      await this.encoder.finish();
      if (this.failure) throw this.failure;
    } catch (error) {
      throw await this.salvage(this.failure ?? (error as Error));
    }
    await this.file.commit();
  }

  /** Bytes of the file on disk so far: what ffmpeg has written of it (0 before it exists). */
  async size(): Promise<number> {
    return (await stat(this.file.path).catch(() => null))?.size ?? 0;
  }

  /** After a failed close, the frames written before the failure that are kept under the output's name; null if it did not fail. */
  get kept(): number | null {
    return this.keptFrames;
  }

  /** Stop without finishing: the output does not appear. Safe to call twice. */
  async abort(): Promise<void> {
    await this.encoder.close();
    await this.file.discard();
  }

  /** The first write failure ffmpeg reports ends the file: every later frame would be lost too. */
  private watch(line: string): void {
    if (this.failure) return;
    this.failure = writeFailure(this.options.output, line);
    if (this.failure) void this.encoder.close();
  }

  /** Keep what a playable-when-cut file holds before `failure`, or nothing; say which. */
  private async salvage(failure: Error): Promise<Error> {
    const playableWhenCut = this.options.playableWhenCut ?? false;
    if (playableWhenCut && MP4_FAMILY.includes(extname(this.file.path).toLowerCase())) {
      try {
        trimToWholeFragments(this.file.path);
      } catch {
        // No file to trim: nothing was written.
      }
    }
    const kept = playableWhenCut ? await countFrames(this.file.path).catch(() => 0) : 0;
    this.keptFrames = kept;
    if (kept === 0) {
      await this.file.discard();
      return failure;
    }
    await this.file.commit();
    const message = `${failure.message}; the ${kept} frames written before it are in ${this.file.output}`;
    return failure instanceof OutputError ? new OutputError(message, failure.code) : new Error(message, { cause: failure });
  }
}
