import { once } from "node:events";
import { mkdir } from "node:fs/promises";
import { dirname, extname } from "node:path";
import { findFfmpeg } from "../ffmpeg/locate.js";
import { FfmpegProcess } from "../ffmpeg/process.js";
import type { Frame } from "../types.js";
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
}

/** Audio codecs the MP4 family can hold as they are; anything else is re-encoded to AAC. */
const MP4_AUDIO = new Set(["aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"]);

export function audioArgs(output: string, codec: string | null): string[] {
  const container = extname(output).toLowerCase();
  const copyable = container === ".mkv" || ([".mp4", ".mov", ".m4v"].includes(container) && codec !== null && MP4_AUDIO.has(codec));
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

/**
 * Encodes RGB24 frames to a video file with ffmpeg, keeping the input's frame rate, start time
 * and audio. `write` resolves once ffmpeg has taken the frame (so a slow encoder slows the
 * chain); `close` finalises the file, which stays playable whatever came before. The file
 * appears under its name only once finalised (see PartialFile).
 */
export class FileSink {
  private constructor(
    private readonly encoder: FfmpegProcess,
    private readonly file: PartialFile,
  ) {}

  static async open(options: FileSinkOptions): Promise<FileSink> {
    const ffmpeg = await findFfmpeg();
    await mkdir(dirname(options.output), { recursive: true });
    const file = new PartialFile(options.output);
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
      ...([".mp4", ".mov", ".m4v"].includes(extname(options.output).toLowerCase()) ? ["-movflags", "+faststart"] : []),
      file.path,
    ];
    return new FileSink(new FfmpegProcess(ffmpeg.path, args, { stdin: true }), file);
  }

  async write(frame: Frame): Promise<void> {
    const stdin = this.encoder.stdin;
    if (!stdin || stdin.destroyed) return this.encoder.done;
    if (!stdin.write(frame.rgb)) {
      await Promise.race([once(stdin, "drain"), this.encoder.done]);
    }
  }

  /** Finish the file: no more frames; resolves when ffmpeg has written it under its name. */
  async close(): Promise<void> {
    this.encoder.stdin?.end();
    try {
      await this.encoder.done;
    } catch (error) {
      await this.file.discard();
      throw error;
    }
    await this.file.commit();
  }

  /** Stop without finishing: the output does not appear. Safe to call twice. */
  async abort(): Promise<void> {
    await this.encoder.close();
    await this.file.discard();
  }
}
