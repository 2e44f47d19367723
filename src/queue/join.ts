import { rm, writeFile } from "node:fs/promises";
import { extname } from "node:path";
import { countFrames } from "../ffmpeg/frames.js";
import { findFfmpeg } from "../ffmpeg/locate.js";
import { FfmpegProcess } from "../ffmpeg/process.js";
import { audioArgs } from "../sinks/file.js";
import { PartialFile } from "../sinks/partial-file.js";
import type { VideoInfo } from "../types.js";

export interface JoinOptions {
  /** The deblurred chunks, in order, each encoded alone with the same settings, in the output's container. */
  readonly chunks: readonly string[];
  /** The original video: its audio and start time go into the output. */
  readonly input: string;
  readonly info: VideoInfo;
  readonly output: string;
  /** Frames the output must hold: the input's. */
  readonly frames: number;
}

/**
 * Join chunks losslessly (ffmpeg's concat demuxer, stream copy: no re-encoding) with the
 * input's audio, to a temporary name renamed when complete; then check that the output holds
 * every frame of the input, none missing or doubled.
 */
export async function joinChunks(options: JoinOptions): Promise<void> {
  const file = new PartialFile(options.output);
  const list = `${file.path}.ffconcat`;
  const quote = (path: string) => `'${path.replace(/'/g, "'\\''")}'`;
  await writeFile(list, ["ffconcat version 1.0", ...options.chunks.map((c) => `file ${quote(c)}`)].join("\n") + "\n");
  const ffmpeg = await findFfmpeg();
  const { info } = options;
  const offset = info.startMs > 0 ? ["-itsoffset", (info.startMs / 1000).toFixed(6)] : [];
  const audio = info.audioCodec ? ["-i", options.input, "-map", "1:a:0", ...audioArgs(options.output, info.audioCodec), "-shortest"] : [];
  const mp4 = [".mp4", ".mov", ".m4v"].includes(extname(options.output).toLowerCase()) ? ["-movflags", "+faststart"] : [];
  const join = new FfmpegProcess(ffmpeg.path, [
    "-hide_banner", "-nostats", "-v", "error", "-y",
    ...offset, "-f", "concat", "-safe", "0", "-i", list, ...audio, "-map", "0:v:0", "-c:v", "copy", ...mp4, file.path,
  ]);
  try {
    await join.done;
    const frames = await countFrames(file.path);
    if (frames !== options.frames) throw new Error(`${options.output}: the joined chunks hold ${frames} frames, the input ${options.frames}`);
    await file.commit();
  } catch (error) {
    await file.discard();
    throw error;
  } finally {
    await rm(list, { force: true });
  }
}
