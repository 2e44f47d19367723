import { existsSync } from "node:fs";
import type { VideoInfo } from "../types.js";
import { redact } from "../redact.js";
import { InputVideoError } from "../errors.js";
import { findFfprobe } from "./locate.js";
import { FfmpegProcess } from "./process.js";

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  time_base?: string;
  pix_fmt?: string;
  bits_per_raw_sample?: string;
  nb_frames?: string;
  duration?: string;
  start_time?: string;
  tags?: { rotate?: string };
  side_data_list?: { rotation?: number }[];
}

interface ProbeResult {
  streams?: ProbeStream[];
  format?: { duration?: string; start_time?: string };
}

function isUrl(input: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(input);
}

function rate(text: string | undefined): number {
  const [num, den] = (text ?? "0/0").split("/").map(Number);
  return num && den ? num / den : 0;
}

function seconds(text: string | undefined): number | null {
  const value = Number(text);
  return text !== undefined && Number.isFinite(value) ? value : null;
}

/**
 * Bits per colour sample: what the codec says, else what the pixel format's name says
 * (yuv420p10le: 10, p010le: 10, rgb48le: 16 in each of three samples), else 8.
 */
function bitDepth(stream: ProbeStream): number {
  const raw = Number(stream.bits_per_raw_sample);
  if (Number.isInteger(raw) && raw > 0) return raw;
  const digits = Number(/(\d+)(?:le|be)$/.exec(stream.pix_fmt ?? "")?.[1]);
  if (digits === 48 || digits === 64) return 16;
  return digits > 8 && digits <= 16 ? digits : 8;
}

/**
 * Describe the first video stream of `input` (a path or URL); clear errors when there is none.
 * `inputArgs` go before `-i` (an RTSP transport, a timeout). A live source that answers but
 * never sends what ffprobe waits for (a hung camera) fails after `timeoutMs`.
 */
export async function probe(input: string, inputArgs: readonly string[] = [], timeoutMs: number | null = null): Promise<VideoInfo> {
  if (!isUrl(input) && !existsSync(input)) throw new InputVideoError(`${input}: no such file`);
  const ffprobe = await findFfprobe();
  const proc = new FfmpegProcess(ffprobe.path, ["-v", "error", "-print_format", "json", "-show_streams", "-show_format", ...inputArgs, "-i", input]);
  const chunks: Buffer[] = [];
  proc.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
  let timedOut = false;
  const timer = timeoutMs === null ? null : setTimeout(() => ((timedOut = true), void proc.close()), timeoutMs);
  try {
    await proc.done;
  } catch {
    throw new InputVideoError(`${redact(input)}: not a readable video (ffprobe: ${proc.stderr().split("\n").pop() || "no details"})`);
  } finally {
    if (timer) clearTimeout(timer);
  }
  if (timedOut) throw new InputVideoError(`${redact(input)}: no answer from ffprobe within ${timeoutMs} ms`);
  const result = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ProbeResult;
  const streams = result.streams ?? [];
  const video = streams.find((s) => s.codec_type === "video" && s.width && s.height);
  if (!video?.width || !video.height) {
    const found = streams.map((s) => s.codec_type ?? "unknown").join(", ") || "nothing";
    throw new InputVideoError(`${redact(input)}: no video stream (ffprobe found: ${found})`);
  }
  const rotation = Math.abs(video.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? Number(video.tags?.rotate ?? 0));
  const upright = rotation % 180 === 90;
  const frameRate = rate(video.avg_frame_rate) ? video.avg_frame_rate ?? "25/1" : video.r_frame_rate ?? "25/1";
  const fps = rate(frameRate) || 25;
  const startSeconds = seconds(video.start_time) ?? seconds(result.format?.start_time) ?? 0;
  // A stream's duration is its own length. A container's (all that Matroska gives) runs from
  // zero to the last frame's end, so a file that starts late, as a cut with -copyts does,
  // would look longer than it is and be called truncated.
  const containerEnd = seconds(result.format?.duration);
  const duration = seconds(video.duration) ?? (containerEnd === null ? null : Math.max(0, containerEnd - startSeconds));
  const counted = Number(video.nb_frames);
  const audio = streams.find((s) => s.codec_type === "audio");
  return {
    width: upright ? video.height : video.width,
    height: upright ? video.width : video.height,
    fps,
    frameRate,
    timeBase: video.time_base && rate(video.time_base) > 0 ? video.time_base : "1/1000",
    bitDepth: bitDepth(video),
    startMs: startSeconds * 1000,
    durationMs: duration === null ? null : duration * 1000,
    frameCount: counted > 0 ? counted : null,
    audioCodec: audio?.codec_name ?? null,
    videoStreams: streams.filter((s) => s.codec_type === "video").length,
  };
}
