import { once } from "node:events";
import { mkdir } from "node:fs/promises";
import { dirname, extname } from "node:path";
import { OutputError } from "../ffmpeg/errors.js";
import { countFrames } from "../ffmpeg/frames.js";
import { findFfmpeg } from "../ffmpeg/locate.js";
import { FfmpegProcess } from "../ffmpeg/process.js";
import { writeFailure } from "../ffmpeg/write-failure.js";
import type { Frame } from "../types.js";
import { trimToWholeFragments } from "./fragmented-mp4.js";
import { PartialFile } from "./partial-file.js";

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
  /**
   * The input's frame rate as a rational ("30000/1001"), so timestamps line up; or
   * "wallclock" for live streams: each frame is stamped when it reaches the encoder.
   */
  readonly frameRate: string;
  readonly startMs: number;
  /** Copy the audio of this file into the output (the input), or null for none. */
  readonly audioFrom: string | null;
  readonly audioCodec: string | null;
  readonly encode: EncodeOptions;
  /**
   * Write a container that plays however abruptly it ends (fragmented MP4; Matroska is so by
   * nature), for live recordings that a hard stop or a full disk may cut anywhere: what was
   * written before the cut is kept, also when the process exits before it finished the file.
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
  // 4:2:0 chroma needs even sizes; pad one edge pixel rather than drop one.
  const even = width % 2 || height % 2 ? ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"] : [];
  return [...even, "-c:v", encode.codec, "-crf", String(encode.crf), "-preset", encode.preset, "-pix_fmt", "yuv420p"];
}

function containerArgs(output: string, playableWhenCut: boolean): string[] {
  if (!MP4_FAMILY.includes(extname(output).toLowerCase())) return [];
  // A fragment at least every second: a cut loses at most the last one.
  return playableWhenCut ? ["-movflags", "+frag_keyframe+empty_moov+default_base_moof", "-frag_duration", "1000000"] : ["-movflags", "+faststart"];
}

/**
 * Encodes RGB24 frames to a video file with ffmpeg, keeping the input's frame rate, start time
 * and audio. `write` resolves once ffmpeg has taken the frame (so a slow encoder slows the
 * chain); `close` finalises the file, which stays playable whatever came before. The file
 * appears under its name only once finalised (see PartialFile). A failed write (a full disk)
 * is an OutputError naming its cause, and never leaves an unplayable file under the name.
 */
export class FileSink {
  private failure: OutputError | null = null;

  private constructor(
    private readonly encoder: FfmpegProcess,
    private readonly file: PartialFile,
    private readonly playableWhenCut: boolean,
  ) {}

  static async open(options: FileSinkOptions): Promise<FileSink> {
    const ffmpeg = await findFfmpeg();
    await mkdir(dirname(options.output), { recursive: true });
    const playableWhenCut = options.playableWhenCut ?? false;
    // A file that plays however it was cut is worth keeping if the process dies; any other is not.
    const file = new PartialFile(options.output, playableWhenCut ? "keep" : "discard");
    const { width, height } = options;
    const offset = options.startMs > 0 ? ["-itsoffset", (options.startMs / 1000).toFixed(6)] : [];
    const withAudio = options.audioFrom !== null && options.audioCodec !== null;
    const timing = options.frameRate === "wallclock" ? ["-use_wallclock_as_timestamps", "1"] : ["-framerate", options.frameRate];
    const args = [
      "-hide_banner", "-nostats", "-v", "error", "-y",
      ...offset, "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", `${width}x${height}`, ...timing, "-i", "pipe:0",
      ...(withAudio && options.audioFrom ? ["-i", options.audioFrom, "-map", "0:v:0", "-map", "1:a:0", ...audioArgs(options.output, options.audioCodec), "-shortest"] : ["-map", "0:v:0"]),
      ...videoArgs(options.output, width, height, options.encode),
      ...(options.frameRate === "wallclock" ? ["-vsync", "vfr"] : []),
      ...containerArgs(options.output, playableWhenCut),
      file.path,
    ];
    let sink: FileSink | null = null;
    // stderr lines come in later events, once `sink` is set.
    const encoder = new FfmpegProcess(ffmpeg.path, args, { stdin: true, onStderrLine: (line) => sink?.watch(line) });
    sink = new FileSink(encoder, file, playableWhenCut);
    return sink;
  }

  async write(frame: Frame): Promise<void> {
    const stdin = this.encoder.stdin;
    try {
      if (this.failure || !stdin || stdin.destroyed) await this.encoder.done;
      else if (!stdin.write(frame.rgb)) await Promise.race([once(stdin, "drain"), this.encoder.done]);
    } catch (error) {
      throw this.failure ?? error;
    }
    if (this.failure) throw this.failure;
  }

  /**
   * Finish the file: no more frames; resolves when ffmpeg has written it under its name. After
   * a failure the file is discarded, except what a playable-when-cut file holds, which is kept
   * under its name; the failure is thrown either way.
   */
  async close(): Promise<void> {
    this.encoder.stdin?.end();
    try {
      await this.encoder.done;
      if (this.failure) throw this.failure;
    } catch (error) {
      throw await this.salvage(this.failure ?? (error as Error));
    }
    await this.file.commit();
  }

  /** Stop without finishing: the output does not appear. Safe to call twice. */
  async abort(): Promise<void> {
    await this.encoder.close();
    await this.file.discard();
  }

  /** The first write failure ffmpeg reports ends the file: every later frame would be lost too. */
  private watch(line: string): void {
    if (this.failure) return;
    this.failure = writeFailure(this.file.output, line);
    if (this.failure) void this.encoder.close();
  }

  /** Keep what a playable-when-cut file holds before `failure`, or nothing; say which. */
  private async salvage(failure: Error): Promise<Error> {
    if (this.playableWhenCut && MP4_FAMILY.includes(extname(this.file.path).toLowerCase())) {
      await trimToWholeFragments(this.file.path).catch(() => undefined);
    }
    const kept = this.playableWhenCut ? await countFrames(this.file.path).catch(() => 0) : 0;
    if (kept === 0) {
      await this.file.discard();
      return failure;
    }
    await this.file.commit();
    const message = `${failure.message}; the ${kept} frames written before it are in ${this.file.output}`;
    return failure instanceof OutputError ? new OutputError(message, failure.code) : new Error(message, { cause: failure });
  }
}
