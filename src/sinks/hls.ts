import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { findFfmpeg } from "../ffmpeg/locate.js";
import { log } from "../log.js";
import type { Frame } from "../types.js";
import { fitFrame } from "./fit-frame.js";
import { FrameEncoder } from "./frame-encoder.js";

/** The playlist's name in a stream's folder; its segments are `segment<N>.m4s` beside `init.mp4`. */
export const HLS_PLAYLIST = "index.m3u8";

/** The files an HLS folder holds, and only they are served from it. */
export const HLS_FILE = /^(index\.m3u8|init\.mp4|segment\d+\.m4s)$/;

/** Seconds a segment: a key frame each second starts each one. */
const SEGMENT_SECONDS = 1;

/** Segments the playlist lists: a player joins a few seconds behind the live edge. */
const PLAYLIST_SEGMENTS = 6;

/**
 * A live stream as HLS in a folder: short fMP4 segments (one second, each starting on a key
 * frame) and a rolling playlist of the last few, which ffmpeg writes under temporary names
 * and renames (a reader never gets half a segment), deleting segments that left the playlist.
 * For browsers (hls.js, Safari's own player), Home Assistant and NVRs that read HLS. The first
 * frame sets the size; a camera back at another size is scaled to fit it (black bars), so the
 * playlist goes on. H.264 4:2:0 holds even sizes only: an odd last row or column is cut.
 */
export class HlsWriter {
  private encoder: FrameEncoder | null = null;
  private size: { readonly width: number; readonly height: number } | null = null;
  private failed = false;

  constructor(
    /** Where the playlist and its segments go. */
    readonly folder: string,
    private readonly stream: string,
    private readonly crf: number,
  ) {}

  /**
   * Add a frame. A failed encoder (a full disk) ends this stream's HLS, said once: never the
   * stream its viewers watch, its recording or its other outputs.
   */
  async write(frame: Frame): Promise<void> {
    if (this.failed) return;
    const size = (this.size ??= { width: frame.width, height: frame.height });
    try {
      this.encoder ??= await this.start(size.width, size.height);
      await this.encoder.write(frame.width === size.width && frame.height === size.height ? frame : await fitFrame(frame, size.width, size.height));
    } catch (error) {
      this.failed = true;
      log.error(`${this.stream}: HLS stopped: ${(error as Error).message}`);
    }
  }

  /** End the stream: ffmpeg writes its last segment. Safe to call twice. */
  async close(): Promise<void> {
    const encoder = this.encoder;
    this.encoder = null;
    await encoder?.finish().catch((error: Error) => log.warn(`${this.stream}: the HLS stream ended badly: ${error.message}`));
  }

  private async start(width: number, height: number): Promise<FrameEncoder> {
    const ffmpeg = await findFfmpeg();
    await mkdir(this.folder, { recursive: true });
    const timing = { clock: "wallclock" } as const;
    return new FrameEncoder(ffmpeg.path, {
      label: `${this.stream} (HLS)`,
      width,
      height,
      timing,
      output: [
        "-map", "0:v:0", "-vf", "crop=trunc(iw/2)*2:trunc(ih/2)*2",
        "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-crf", String(this.crf), "-pix_fmt", "yuv420p",
        "-force_key_frames", `expr:gte(t,n_forced*${SEGMENT_SECONDS})`,
        ...FrameEncoder.timingArgs(timing),
        "-f", "hls", "-hls_time", String(SEGMENT_SECONDS), "-hls_list_size", String(PLAYLIST_SEGMENTS),
        "-hls_flags", "delete_segments+independent_segments+omit_endlist+temp_file",
        "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
        "-hls_segment_filename", join(this.folder, "segment%d.m4s"),
        join(this.folder, HLS_PLAYLIST),
      ],
    });
  }
}
