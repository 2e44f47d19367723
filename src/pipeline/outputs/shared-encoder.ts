import { FfmpegError } from "../../ffmpeg/errors.js";
import type { Muxer } from "../../sinks/muxer.js";
import { StallError, withStallTimeout } from "../../sinks/rtsp-publish.js";
import { TeeEncoder } from "../../sinks/tee-encoder.js";
import type { Frame } from "../../types.js";
import type { FrameOutput, OutputSpec } from "../frame-output.js";
import type { LiveFrame } from "../live.js";

/**
 * An output that is down tries again by restarting the encoder under the runs that go on (an HLS
 * discontinuity each time): at most this often, however eagerly the cameras' backoff retries (from
 * 200 ms). An RTSP server that is back is then taken within this, plus the backoff.
 */
const MOVE_RUNS_AT_MOST_EVERY_MS = 10_000;

/** An output that the shared encoder feeds: its spec, and the muxer of each of its runs. */
export interface EncodedOutput {
  readonly spec: OutputSpec;
  /** The muxer of a new run (HLS numbered on from the last segment): called once the encoder before has finished. */
  readonly muxer: () => Promise<Muxer>;
  /** Its far end is a server that can stop taking the stream (RTSP out): a stalled encoder is blamed on it. */
  readonly remote: boolean;
}

export interface SharedEncoderOptions {
  readonly stream: string;
  readonly crf: number;
  /** An encoder that takes no frame for this long is stalled: a server has stopped reading. */
  readonly stallTimeoutMs: number;
  /** What of a deblurred frame is encoded, for every output alike. */
  readonly picture: (frame: LiveFrame) => Frame;
}

/** A leg of one TeeEncoder: why it failed, if it has, and when its muxer opened. */
interface Leg {
  failure: Error | null;
  readonly up: Promise<void>;
}

/** One TeeEncoder, its frames' size, its legs by output name, and the newest frame it was given. */
interface Encoding {
  readonly tee: TeeEncoder;
  readonly size: { readonly width: number; readonly height: number };
  readonly legs: ReadonlyMap<string, Leg>;
  newest: { readonly original: Frame; readonly order: number; readonly taken: Promise<void> } | null;
}

/**
 * Outputs that share one encoder (HLS and RTSP out, whose H.264 is the same): x264 runs once, and
 * ffmpeg's tee muxer gives each output a leg that fails alone. Each output keeps its own spec, so
 * attachOutput keeps its rules for each (its buffer, its failures counted and said, its backoff,
 * its `dsanet_output_up`): only `open` changes, and a run is the output's leg in the encoder.
 *
 * A failed leg stays gone for the encoder's life, so the output's next run (after its backoff)
 * starts another encoder carrying every output with a live run, whose runs move to it without a
 * failure: HLS goes on in the same folder, numbered on (a discontinuity), RTSP out in a new
 * session. That costs HLS a restart at each attempt of an output that is down, at most every
 * MOVE_RUNS_AT_MOST_EVERY_MS (bench/tee.bench.ts measures it), where two encoders would cost x264
 * twice all the time. The process's death fails every leg. A stalled encoder (no frame taken for
 * stallTimeoutMs) is blamed on its remote legs, as ffmpeg's tee blocks on its slowest slave: they
 * fail, and the others go on in a new encoder.
 */
export function sharedEncoder(outputs: readonly EncodedOutput[], options: SharedEncoderOptions): OutputSpec[] {
  const shared = new SharedEncoder(outputs, options);
  return outputs.map(({ spec }) => ({ ...spec, open: (width, height) => shared.open(spec.name, width, height) }));
}

/** An output's run: its leg of the current encoder, moved to the next encoder while it has not failed. */
class LegRun implements FrameOutput {
  readonly up: Promise<void>;
  constructor(
    private readonly shared: SharedEncoder,
    readonly name: string,
    public leg: Leg,
  ) {
    this.up = leg.up;
  }
  write(frame: LiveFrame): Promise<void> {
    return this.shared.write(this, frame);
  }
  close(): Promise<void> {
    return this.shared.release(this);
  }
}

class SharedEncoder {
  /** The current encoder; null once none runs. Each change (a start, a finish) chains on the one before. */
  private encoding: Promise<Encoding | null> = Promise.resolve(null);
  /** Opens, one at a time: outputs opening on the same frame join the same encoder. */
  private opens: Promise<unknown> = Promise.resolve();
  private readonly runs = new Set<LegRun>();
  /** Outputs whose run is being opened: the next encoder carries them. */
  private readonly opening = new Set<string>();
  /** When an output's attempt last restarted the encoder under runs that go on (Date.now). */
  private movedRunsAtMs = -Infinity;
  /**
   * Outputs whose run ended with the encoder's death, not a failure of their own: the next
   * encoder opens their legs too, for their next run to take as it is. Without it, each output
   * coming back after the death restarted the encoder, and the second start cut the first
   * output's new RTSP session.
   */
  private readonly diedWithEncoder = new Set<string>();

  constructor(
    private readonly outputs: readonly EncodedOutput[],
    private readonly options: SharedEncoderOptions,
  ) {}

  open(name: string, width: number, height: number): Promise<FrameOutput> {
    this.opening.add(name);
    const opened = this.opens.then(async () => {
      try {
        const encoding = await this.current();
        let leg = this.free(encoding, name);
        if (!leg) {
          const movesRuns = [...this.runs].some((run) => !run.leg.failure);
          if (movesRuns && Date.now() - this.movedRunsAtMs < MOVE_RUNS_AT_MOST_EVERY_MS) throw new Error(`${name} waits to restart the encoder it shares`);
          if (movesRuns) this.movedRunsAtMs = Date.now();
          // Every output of a stream keeps its first frame's size, the same frame for all.
          leg = this.free(await this.restart(encoding?.size ?? { width, height }), name);
        }
        if (!leg) throw new Error(`${this.options.stream}: the shared encoder started without ${name}`);
        const run = new LegRun(this, name, leg);
        this.runs.add(run);
        return run;
      } finally {
        this.opening.delete(name);
      }
    });
    this.opens = opened.catch(() => undefined);
    return opened;
  }

  async write(run: LegRun, frame: LiveFrame): Promise<void> {
    if (run.leg.failure) throw run.leg.failure;
    const encoding = await this.current();
    if (!encoding) throw new Error(`${this.options.stream}: the shared encoder is closed`);
    await this.take(encoding, frame);
    if (run.leg.failure) throw run.leg.failure;
  }

  /** The run is over (failed, or its output closed). The last one finishes the encoder: HLS's last segment, the RTSP session's end. */
  async release(run: LegRun): Promise<void> {
    if (!this.runs.delete(run) || this.runs.size > 0 || this.opening.size > 0) return;
    const finished = this.encoding.then((encoding) => encoding && this.finish(encoding));
    this.encoding = finished.then(
      () => null,
      () => null,
    );
    await finished;
  }

  private async current(): Promise<Encoding | null> {
    return this.encoding.catch(() => null);
  }

  /** The leg for output `name` in `encoding`, unless it failed or a run holds it. */
  private free(encoding: Encoding | null, name: string): Leg | null {
    const leg = encoding?.legs.get(name);
    return leg && !leg.failure && ![...this.runs].some((run) => run.leg === leg) ? leg : null;
  }

  /**
   * Finish the current encoder and start one that carries the outputs being opened and those
   * whose runs go on; those runs move to it.
   */
  private restart(size: Encoding["size"]): Promise<Encoding> {
    const next = this.current().then(async (previous) => {
      if (previous) await this.finish(previous).catch(() => undefined);
      const carried = this.outputs.filter(
        ({ spec }) => this.opening.has(spec.name) || this.diedWithEncoder.has(spec.name) || [...this.runs].some((run) => run.name === spec.name && !run.leg.failure),
      );
      this.diedWithEncoder.clear();
      const tee = await TeeEncoder.start({ label: this.options.stream, ...size, crf: this.options.crf, legs: await Promise.all(carried.map((output) => output.muxer())) });
      const legs = new Map(carried.map(({ spec }, i) => [spec.name, legOf(tee, i)]));
      carried.forEach(({ spec }, i) => {
        // A leg whose first failure is ffmpeg's death (an FfmpegError), not one of its own.
        void tee.failed[i]?.then((reason) => reason instanceof FfmpegError && legs.get(spec.name)?.failure === reason && this.diedWithEncoder.add(spec.name));
      });
      for (const run of this.runs) {
        const moved = legs.get(run.name);
        if (moved && !run.leg.failure) run.leg = moved;
      }
      return { tee, size, legs, newest: null };
    });
    this.encoding = next;
    return next;
  }

  /**
   * Give the encoder `frame`, once however many outputs bring it: each output's own buffer
   * brings its newest frame, so one that lags may bring a frame older than the newest given,
   * whose moment has passed.
   */
  private take(encoding: Encoding, frame: LiveFrame): Promise<void> {
    const { newest } = encoding;
    if (newest?.original === frame.original) return newest.taken;
    const order = frame.original.receivedAtMs ?? frame.original.ptsMs;
    if (newest && order < newest.order) return newest.taken;
    const taken = (newest?.taken ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => withStallTimeout(encoding.tee.write(this.options.picture(frame)), this.options.stallTimeoutMs))
      .catch((error: unknown) => this.writeFailed(encoding, error));
    encoding.newest = { original: frame.original, order, taken };
    return taken;
  }

  /**
   * A write that failed: the encoder's death fails every leg (their `failure`, from ffmpeg's
   * exit), and the write with it. A stall fails the remote legs, whose server stopped reading,
   * and the others go on in a new encoder, this frame lost; with no remote leg to blame, all.
   */
  private async writeFailed(encoding: Encoding, error: unknown): Promise<void> {
    if (!(error instanceof StallError)) throw error;
    const remote = this.outputs.filter((output) => output.remote && encoding.legs.get(output.spec.name)?.failure === null);
    const blamed = remote.length > 0 ? remote.map((output) => output.spec.name) : [...encoding.legs.keys()];
    for (const name of blamed) {
      const leg = encoding.legs.get(name);
      if (leg) leg.failure ??= error;
    }
    await encoding.tee.close();
    const goesOn = [...this.runs].some((run) => !run.leg.failure);
    if (goesOn && (await this.current()) === encoding) await this.restart(encoding.size);
  }

  private async finish(encoding: Encoding): Promise<void> {
    try {
      await withStallTimeout(encoding.tee.finish(), this.options.stallTimeoutMs);
    } finally {
      await encoding.tee.close();
    }
  }
}

/** Leg `index` of `tee`: failed once ffmpeg says so, up once every muxer has opened and it has not failed. */
function legOf(tee: TeeEncoder, index: number): Leg {
  const state: { failure: Error | null } = { failure: null };
  void tee.failed[index]?.then((reason) => (state.failure ??= reason));
  const up = new Promise<void>((resolve) => void tee.opened.then(() => state.failure === null && resolve()));
  return Object.assign(state, { up });
}
