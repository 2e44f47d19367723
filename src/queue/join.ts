import { rm, writeFile } from "node:fs/promises";
import { countFrames } from "../ffmpeg/frames.js";
import { findFfmpeg } from "../ffmpeg/locate.js";
import { probe } from "../ffmpeg/probe.js";
import { FfmpegProcess } from "../ffmpeg/process.js";
import { audioArgs, containerArgs } from "../sinks/file.js";
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
 *
 * Each chunk holds its frames at their times in the whole video (variable frame rate
 * included). The concat demuxer places each file where the one before it ends, so each
 * chunk's `duration` is given as the distance to the next chunk's first frame: every frame
 * then lands on its own time, which the first chunk's start shifts back into place.
 */
export async function joinChunks(options: JoinOptions): Promise<void> {
  const file = new PartialFile(options.output);
  const list = `${file.path}.ffconcat`;
  const quote = (path: string) => `'${path.replace(/'/g, "'\\''")}'`;
  const starts = await Promise.all(options.chunks.map(async (chunk) => (await probe(chunk)).startMs));
  const seconds = (ms: number) => (ms / 1000).toFixed(6);
  const entries = options.chunks.flatMap((chunk, i) => {
    const next = starts[i + 1];
    const start = starts[i] ?? 0;
    return [`file ${quote(chunk)}`, ...(next === undefined ? [] : [`duration ${seconds(next - start)}`])];
  });
  await writeFile(list, ["ffconcat version 1.0", ...entries].join("\n") + "\n");
  const ffmpeg = await findFfmpeg();
  const { info } = options;
  const audio = info.audioCodec ? ["-i", options.input, "-map", "1:a:0", ...audioArgs(options.output, info.audioCodec), "-shortest"] : [];
  // -copyts, as in FileSink: the audio keeps its times, in step with the video's.
  const join = new FfmpegProcess(ffmpeg.path, [
    "-hide_banner", "-nostats", "-v", "error", "-y", "-copyts",
    "-itsoffset", seconds(starts[0] ?? 0), "-f", "concat", "-safe", "0", "-i", list, ...audio, "-map", "0:v:0", "-c:v", "copy", ...(await containerArgs(ffmpeg, options.output, info.timeBase)), file.path,
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
