import { FrameEncoder } from "./frame-encoder.js";

/** A key frame each second: a reader joining an RTSP stream, an HLS segment, starts on one. */
export const KEY_FRAME_SECONDS = 1;

/**
 * ffmpeg's arguments that encode a live stream's frames as the H.264 that HLS and RTSP out carry:
 * x264 at low latency, 4:2:0, which every reader decodes and which holds even sizes only (an
 * odd last row or column is cut), a key frame each second, each frame at its wall-clock time.
 */
export function liveH264Args(crf: number): string[] {
  return [
    "-map", "0:v:0", "-vf", "crop=trunc(iw/2)*2:trunc(ih/2)*2",
    "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-crf", String(crf), "-pix_fmt", "yuv420p",
    "-force_key_frames", `expr:gte(t,n_forced*${KEY_FRAME_SECONDS})`,
    ...FrameEncoder.timingArgs({ clock: "wallclock" }),
  ];
}
