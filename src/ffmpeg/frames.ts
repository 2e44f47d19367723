import { InputVideoError } from "../errors.js";
import { findFfprobe } from "./locate.js";
import { FfmpegProcess } from "./process.js";

/**
 * The number of video frames, counted from the container's packets without decoding them (a
 * second or two for an hour of video): exact where the container announces nothing or
 * announces wrong.
 */
export async function countFrames(input: string): Promise<number> {
  const ffprobe = await findFfprobe();
  const args = ["-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", input];
  const proc = new FfmpegProcess(ffprobe.path, args);
  const chunks: Buffer[] = [];
  proc.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
  try {
    await proc.done;
  } catch {
    throw new InputVideoError(`${input}: cannot count its frames (ffprobe: ${proc.stderr().split("\n").pop() || "no details"})`);
  }
  const count = Number(Buffer.concat(chunks).toString("utf8").trim());
  if (!Number.isInteger(count) || count <= 0) throw new InputVideoError(`${input}: no video frames found`);
  return count;
}
