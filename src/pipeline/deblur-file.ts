import { EMPTY, NEVER, catchError, concatMap, fromEvent, lastValueFrom, map, merge, of, share, takeUntil, tap, type Observable } from "rxjs";
import { probe } from "../ffmpeg/probe.js";
import type { DeblurStreamOptions } from "../deblur/deblur-stream.js";
import type { Engine } from "../engine/engine.js";
import type { Detector } from "../detector/detector.js";
import { FileSink, type EncodeOptions } from "../sinks/file.js";
import { refuseOverwritingInput } from "../sinks/partial-file.js";
import type { JsonLinesSink } from "../sinks/jsonl.js";
import { fileSource } from "../sources/file.js";
import type { VideoInfo } from "../types.js";
import { Credits, boundedInOrder } from "./bounded-in-order.js";
import { deblur } from "./deblur.js";
import { detect } from "./detect.js";

export interface DeblurFileOptions extends DeblurStreamOptions {
  readonly input: string;
  /** The input's probe, when the caller already has it (else it is probed here). */
  readonly info?: VideoInfo;
  readonly output: string;
  readonly engine: Engine;
  readonly encode: EncodeOptions;
  /** Frames in flight between decoder and encoder; the decoder waits when all are taken. */
  readonly slots: number;
  readonly onProgress?: (progress: Progress) => void;
  /** Also detect objects on the deblurred frames (latest-only: never slows the file). */
  readonly detect?: { readonly detector: Detector; readonly every: number; readonly output: JsonLinesSink };
  /**
   * Only `count` frames from `first` (a chunk of a long video, see src/queue), written without
   * audio, each frame at its time in the whole video (the join lines the chunks up). The `warmup` frames before `first` go through the model first, unwritten,
   * so the carried state at `first` is what a run over the whole video would have.
   */
  readonly range?: { readonly first: number; readonly count: number; readonly warmup: number };
  /**
   * Stop early (a Ctrl-C): decoding stops, the frames already decoded are deblurred and
   * written, and the output is finished as a shorter, playable file; the summary says so.
   */
  readonly stop?: AbortSignal;
}

export interface Progress {
  readonly frames: number;
  /** Frames expected (announced, or estimated from the duration), or null when unknown. */
  readonly total: number | null;
  readonly fps: number;
}

export interface DeblurSummary {
  readonly input: string;
  readonly output: string;
  readonly engine: string;
  readonly frames: number;
  /** Frames the input announced (or its duration suggests), or null when unknown. */
  readonly expectedFrames: number | null;
  /** The run was stopped early (`stop`): the output holds the first `frames` frames. */
  readonly interrupted: boolean;
  readonly seconds: number;
  readonly fps: number;
  /** Time the deblur stage waited for the decoder, spent in inference, and in the encoder. */
  readonly waitingForDecoderMs: number;
  readonly inferenceMs: number;
  readonly encodeMs: number;
  /** The share of the written frames' pixels that went through the model: below 1 with deblur.regions auto. */
  readonly deblurredShare: number;
  /** Set when the input was truncated or damaged: the output holds every frame decoded. */
  readonly inputError: Error | null;
  /** Frames the detector looked at, and frames it skipped while busy. */
  readonly detected: number;
  readonly detectorSkipped: number;
}

/**
 * Deblur a video file to a video file, losslessly: every decoded frame is written, in order,
 * with the input's timing and audio. The output must not be the input, and appears only once
 * complete. At most `slots` frames are in flight, so memory stays
 * flat however long the video; a slow encoder slows the decoder rather than filling memory.
 */
export async function deblurFile(options: DeblurFileOptions): Promise<DeblurSummary> {
  await refuseOverwritingInput(options.output, [options.input]);
  const info = options.info ?? (await probe(options.input));
  const { range } = options;
  const sink = await FileSink.open({
    output: options.output,
    width: info.width,
    height: info.height,
    timing: { clock: "pts", timeBase: info.timeBase, frameRate: info.frameRate },
    audioFrom: range ? null : options.input,
    audioCodec: info.audioCodec,
    encode: options.encode,
  });
  const credits = new Credits(options.slots);
  // A model that carries no state has nothing to rebuild before a chunk.
  const warmup = range && options.engine.carriesState ? Math.min(range.warmup, range.first) : 0;
  const decoded = range ? { first: range.first - warmup, count: range.count + warmup } : undefined;
  // Matroska and others announce no frame count; their duration gives a fair estimate.
  const expected = range ? range.count : (info.frameCount ?? (info.durationMs === null ? null : Math.round((info.durationMs / 1000) * info.fps)));
  const started = performance.now();
  let frames = 0;
  let inferenceMs = 0;
  let deblurredFrames = 0;
  let encodeMs = 0;
  let waitingForDecoderMs = 0;
  let inputError: Error | null = null;
  let interrupted = false;
  let detected = 0;
  let detectorSkipped = 0;

  const deblurred = fileSource(options.input, info, { gate: credits, ...(decoded ? { range: decoded } : {}) }).pipe(
    // A damaged input ends the stream after its last good frame; the frames already decoded
    // are still deblurred and written, then the error is reported.
    catchError((error: Error) => {
      inputError = error;
      return EMPTY;
    }),
    takeUntil(options.stop ? aborted(options.stop).pipe(tap(() => (interrupted = true))) : NEVER),
    deblur(options.engine, options),
    share(),
  );
  const written = deblurred.pipe(
    boundedInOrder([credits], async ({ sharp, deblurredShare, inferenceMs: busy, waitedMs }) => {
      inferenceMs += busy;
      waitingForDecoderMs += waitedMs;
      if (range && sharp.index < range.first) return; // a warm-up frame: it built the state, and is not written
      deblurredFrames += deblurredShare;
      const encodeStart = performance.now();
      await sink.write(sharp);
      encodeMs += performance.now() - encodeStart;
      frames++;
      options.onProgress?.({ frames, total: expected, fps: (frames * 1000) / (performance.now() - started) });
    }),
  );
  const detection = options.detect;
  const found = detection
    ? deblurred.pipe(
        map(({ sharp }) => sharp),
        detect(detection.detector, { every: detection.every, onSkip: () => detectorSkipped++ }),
        concatMap((result) => {
          detected++;
          return detection.output.write(result);
        }),
      )
    : EMPTY;
  try {
    await lastValueFrom(merge(written, found), { defaultValue: undefined });
  } catch (error) {
    await sink.abort();
    throw error;
  }
  // A file of no frames is no output.
  if (interrupted && frames === 0) await sink.abort();
  else await sink.close();
  const seconds = (performance.now() - started) / 1000;
  return {
    input: options.input,
    output: options.output,
    engine: options.engine.name,
    frames,
    expectedFrames: expected,
    interrupted,
    seconds,
    fps: frames / seconds,
    waitingForDecoderMs,
    inferenceMs,
    encodeMs,
    deblurredShare: frames > 0 ? deblurredFrames / frames : 0,
    inputError,
    detected,
    detectorSkipped,
  };
}

/** Emits once `signal` is aborted, at once if it already is. */
function aborted(signal: AbortSignal): Observable<unknown> {
  return signal.aborted ? of(signal.reason) : fromEvent(signal, "abort");
}
