import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { findFfmpeg } from "../ffmpeg/locate.js";
import type { Frame } from "../types.js";
import { FrameEncoder } from "./frame-encoder.js";
import { KEY_FRAME_SECONDS, liveH264Args } from "./live-h264.js";
import { muxerArgs, type Muxer } from "./muxer.js";

/** The playlist's name in a stream's folder; its segments are `segment<N>.m4s` beside `init.mp4`. */
export const HLS_PLAYLIST = "index.m3u8";

/** The files an HLS folder holds, and only they are served from it. */
export const HLS_FILE = /^(index\.m3u8|init\.mp4|segment\d+\.m4s)$/;

/** Segments the playlist lists: a player joins a few seconds behind the live edge. */
const PLAYLIST_SEGMENTS = 6;

/** The number after the last segment in `folder`: a new run goes on from it, so that the media sequence only advances. */
async function nextSegment(folder: string): Promise<number> {
  const numbers = (await readdir(folder)).map((name) => /^segment(\d+)\.m4s$/.exec(name)?.[1]).filter((n) => n !== undefined).map(Number);
  return numbers.length === 0 ? 0 : Math.max(...numbers) + 1;
}

/**
 * The HLS muxer of a run that writes in `folder` (made if missing): one-second fMP4 segments,
 * numbered on from the last one there, the first marked as a discontinuity after a run before.
 */
export async function hlsMuxer(folder: string): Promise<Muxer> {
  await mkdir(folder, { recursive: true });
  const start = await nextSegment(folder);
  // A run after another starts its clock again: players are told so.
  const flags = ["delete_segments", "independent_segments", "omit_endlist", "temp_file", ...(start > 0 ? ["discont_start"] : [])];
  return {
    format: "hls",
    options: [
      ["hls_time", String(KEY_FRAME_SECONDS)], ["hls_list_size", String(PLAYLIST_SEGMENTS)], ["start_number", String(start)],
      ["hls_flags", flags.join("+")],
      ["hls_segment_type", "fmp4"], ["hls_fmp4_init_filename", "init.mp4"],
      ["hls_segment_filename", join(folder, "segment%d.m4s")],
    ],
    target: join(folder, HLS_PLAYLIST),
  };
}

/**
 * A live stream as HLS in a folder: short fMP4 segments (one second, each starting on a key
 * frame) and a rolling playlist of the last few, which ffmpeg writes under temporary names
 * and renames (a reader never gets half a segment), deleting segments that left the playlist.
 * For browsers (hls.js, Safari's own player), Home Assistant and NVRs that read HLS. One run of
 * one encoder at one size: a run after a failed one goes on in the same folder, its segments
 * numbered on from the last one's and marked as a discontinuity (its clock starts again), so a
 * player goes on. H.264 4:2:0 holds even sizes only: an odd last row or column is cut.
 */
export class HlsWriter {
  private constructor(private readonly encoder: FrameEncoder) {}

  static async start(folder: string, stream: string, crf: number, width: number, height: number): Promise<HlsWriter> {
    const ffmpeg = await findFfmpeg();
    const output = [...liveH264Args(crf), ...muxerArgs(await hlsMuxer(folder))];
    return new HlsWriter(new FrameEncoder(ffmpeg.path, { label: `${stream} (HLS)`, width, height, timing: { clock: "wallclock" }, output }));
  }

  /** Add a frame; rejects once the encoder has gone (a full disk, killed), with the reason. */
  write(frame: Frame): Promise<void> {
    return this.encoder.write(frame);
  }

  /** End the stream: ffmpeg writes its last segment; rejects if it failed. Safe to call twice. */
  async close(): Promise<void> {
    try {
      await this.encoder.finish();
    } finally {
      await this.encoder.close();
    }
  }
}
