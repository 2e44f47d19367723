import { existsSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { log } from "../../log.js";
import { FileSink, type EncodeOptions } from "../../sinks/file.js";
import type { Frame } from "../../types.js";
import type { FrameOutput, OutputSpec } from "../frame-output.js";
import type { LiveFrame } from "../live.js";
import { RecordingBacklog } from "./recording-backlog.js";

/** Deblurred frames that may wait for a live recording's encoder: a few seconds of video. */
const RECORDING_QUEUE = 64;
/**
 * The most a recording holds of pictures not yet known to be in its file, for the next segment
 * should its encoder die (RecordingBacklog): 72 frames at 1280x720, enough for x264's lookahead
 * and a fragment; 290 at 640x360.
 */
const BACKLOG_BYTES = 192 * 1024 * 1024;

export interface RecordingOptions {
  readonly stream: string;
  /** The recording's file: the first segment's name, unless segments are cut by time; the others go beside it. */
  readonly path: string;
  /** Start a new segment this often (ms), as NVRs record; null: one file, cut only by a failure. */
  readonly segmentMs: number | null;
  readonly encode: EncodeOptions;
  /** What of a deblurred frame is recorded: the sharp frame, with the detector's boxes if they are burnt in. */
  readonly picture: (frame: LiveFrame) => Frame;
}

/** `2026-12-06T02-15-03Z`: a segment's start, in UTC, sortable and valid in any file system. */
function stamp(atMs: number): string {
  return new Date(atMs).toISOString().replace(/\.\d+Z$/, "Z").replaceAll(":", "-");
}

/**
 * The recording of a camera, lossless with respect to the deblurred stream (a bounded buffer,
 * its drops counted), in segments: each a file that plays however it ends (fragmented MP4 or
 * Matroska, see FileSink's playableWhenCut), named by its start time beside the first
 * (`rec-2026-12-06T02-15-03Z.mp4` beside `rec.mp4`). A run ends when its encoder dies or its
 * disk fills: what it wrote is kept, and the next run, after the backoff, starts a new segment,
 * so nothing written is ever overwritten. The frames the dead encoder had taken but not
 * written go first into that segment, at their own times. With `segmentMs` every segment is
 * named by its start and a new one begins when its time is up.
 */
export function recordingOutput(options: RecordingOptions): OutputSpec {
  const used = new Set<string>();
  const extension = extname(options.path);
  /** A name for a segment starting now: the path as given for the first of an unsegmented recording, its start time else. */
  const nextPath = (): string => {
    const first = used.size === 0 && options.segmentMs === null;
    const base = join(dirname(options.path), `${basename(options.path, extension)}-${stamp(Date.now())}`);
    let path = first ? options.path : `${base}${extension}`;
    // Two segments within a second (a failure soon after a start): the later one is numbered.
    for (let n = 2; used.has(path) || (!first && existsSync(path)); n++) path = `${base}-${n}${extension}`;
    used.add(path);
    return path;
  };
  // One for the recording, across its runs: what a dead encoder did not write goes to the next.
  const backlog = new RecordingBacklog(BACKLOG_BYTES);
  return {
    name: "recording",
    title: "the recording",
    buffer: RECORDING_QUEUE,
    oneSize: true,
    open: async (width, height) => new Recording(options, width, height, nextPath, backlog),
  };
}

/**
 * One run of a recording: its segments, one after the other, until it fails or is closed. It
 * is up once a segment's file has grown past its header: ffmpeg takes frames into its pipe
 * and its encoder's lookahead long before it writes them (seconds, at x264's medium preset),
 * so a frame taken proves nothing, and a full disk would otherwise seem mended at each attempt.
 */
class Recording implements FrameOutput {
  readonly up: Promise<void>;
  private segment: { readonly sink: Promise<FileSink>; readonly path: string; readonly startedAtMs: number } | null = null;
  private closing: Promise<void> | null = null;
  /** Until the run is up: the bytes of its segment's header (the first size seen on disk), and how to say it is up. */
  private headerBytes: number | null = null;
  private proven: (() => void) | null = null;

  constructor(
    private readonly options: RecordingOptions,
    private readonly width: number,
    private readonly height: number,
    private readonly nextPath: () => string,
    private readonly backlog: RecordingBacklog,
  ) {
    this.up = new Promise((resolve) => (this.proven = resolve));
  }

  /**
   * Takes the frame into the backlog first: whatever fails after, the frame is the recording's
   * to write. It is stamped when the camera's frame arrived, so that a frame written late (held
   * through a backoff, written again after its encoder died) keeps its place in time.
   */
  async write(frame: LiveFrame): Promise<void> {
    this.backlog.add({ picture: this.options.picture(frame), atMs: frame.original.receivedAtMs ?? Date.now() });
    const { segmentMs } = this.options;
    if (this.segment && segmentMs !== null && Date.now() - this.segment.startedAtMs >= segmentMs) await this.finishSegment();
    this.segment ??= this.startSegment();
    const sink = await this.segment.sink;
    // What a dead encoder did not write comes first, each at the time it came.
    for (let timed = this.backlog.take(); timed; timed = this.backlog.take()) await sink.write(timed.picture, timed.atMs);
    if (this.proven) await this.prove(sink);
  }

  private async prove(sink: FileSink): Promise<void> {
    const bytes = await sink.size();
    if (bytes === 0) return;
    this.headerBytes ??= bytes;
    if (bytes <= this.headerBytes) return;
    this.proven?.();
    this.proven = null;
  }

  close(): Promise<void> {
    this.closing ??= this.finishSegment();
    return this.closing;
  }

  private startSegment(): NonNullable<Recording["segment"]> {
    const path = this.nextPath();
    this.headerBytes = null;
    log.info(`${this.options.stream}: recording to ${path}`);
    const { width, height } = this;
    const sink = FileSink.open({ output: path, width, height, timing: { clock: "wallclock" }, audioFrom: null, audioCodec: null, encode: this.options.encode, playableWhenCut: true });
    return { sink, path, startedAtMs: Date.now() };
  }

  /** Finish the segment so it plays; after a failure, keep what it holds and say how much. */
  private async finishSegment(): Promise<void> {
    const segment = this.segment;
    this.segment = null;
    const sink = await segment?.sink.catch(() => null);
    if (!segment || !sink) return;
    try {
      await sink.close();
    } catch (error) {
      const kept = sink.kept ?? 0;
      const { waiting, lost } = this.backlog.segmentFailed(kept);
      const then = `${waiting} frames wait for the next segment${lost > 0 ? `; ${lost} were let go, beyond what a recording holds` : ""}`;
      log.info(`${this.options.stream}: ${kept ? `${segment.path} keeps the ${kept} frames written before the failure` : `${segment.path} kept no frame`}; ${then}`);
      throw error;
    }
    this.backlog.segmentDone();
  }
}
