import type { Observable, Subscription } from "rxjs";
import { briefly } from "../ffmpeg/errors.js";
import { log } from "../log.js";
import { reconnectDelay, type Backoff } from "../reconnect.js";
import { fitFrame } from "../sinks/fit-frame.js";
import { dropOldest } from "./drop-oldest.js";
import type { FrameOutput, OutputSpec } from "./frame-output.js";
import type { LiveFrame } from "./live.js";
import type { StreamMetrics } from "./metrics.js";

/** What every output of a stream shares: whose it is, how long to wait after a failure, where to count. */
export interface OutputRules {
  readonly stream: string;
  /** The cameras' reconnection backoff: a dead encoder or a full disk is retried at the same pace. */
  readonly backoff: Backoff;
  readonly metrics: StreamMetrics;
}

/** A live output fed by a camera's stream. */
export interface AttachedOutput {
  /** Settles once the stream has ended (or failed) and the last run is closed: its file finished. */
  readonly done: Promise<void>;
  /** Take no more frames and close the run now (its file finished). Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Feed a camera's deblurred frames to an output, by the rules every live output keeps:
 * - its own buffer (`spec.buffer`; 1 is latest-only), so that a slow output never slows the
 *   stream or the other outputs; the frames it could not take are counted as its drops;
 * - encoders get every frame at the first frame's size, a camera back at another size scaled
 *   to fit, said once per change;
 * - a run that fails (a dead encoder, a full disk, a lost server) is closed, which keeps what
 *   it wrote, and another is opened at the next frame after the cameras' backoff (capped,
 *   jittered, as a camera reconnects): the failure is logged and counted once per outage,
 *   however many attempts it takes, and the return once. The frames that come meanwhile are
 *   dropped by a latest-only output; one with a buffer (a recording) holds up to that many for
 *   the next run, the oldest dropped;
 * - while it is down, metrics and /healthz say so (StreamMetrics.outputDown).
 * There is no timer: frames coming in drive the attempts.
 */
export function attachOutput(frames: Observable<LiveFrame>, spec: OutputSpec, rules: OutputRules): AttachedOutput {
  const { stream, backoff, metrics } = rules;
  let run: Promise<FrameOutput> | null = null;
  let size: { readonly width: number; readonly height: number } | null = null;
  let outage: { readonly sinceMs: number; failures: number; retryAtMs: number } | null = null;
  let started = false;
  /** The camera size last told about, so that a change is said once. */
  let toldSize: string | null = null;
  /** Frames that came during the backoff, for the next run (outputs with a buffer only), oldest first. */
  const held: LiveFrame[] = [];
  /** Runs being closed: closing the output waits for them too (a failed recording's file is being kept). */
  const retiring = new Set<Promise<void>>();
  let closing: Promise<void> | null = null;

  const markUp = (current: Promise<FrameOutput>) => {
    if (run !== current || (started && outage === null)) return;
    metrics.outputUp(spec.name);
    if (outage) log.info(`${stream}: ${spec.title} back after ${((Date.now() - outage.sinceMs) / 1000).toFixed(1)} s`);
    else if (spec.oneSize && size) log.info(`${stream}: ${spec.title} at ${size.width}x${size.height}`);
    started = true;
    outage = null;
  };

  const open = (width: number, height: number): Promise<FrameOutput> => {
    const opening = spec.open(width, height);
    opening.then((output) => output.up?.then(() => markUp(opening)), () => undefined);
    return opening;
  };

  const retire = (current: Promise<FrameOutput>, onError: (error: Error) => void) => {
    const closed = current.then((output) => output.close()).catch(onError);
    retiring.add(closed);
    return closed.finally(() => retiring.delete(closed));
  };

  const fail = async (current: Promise<FrameOutput>, error: unknown) => {
    if (run !== current) return;
    run = null;
    metrics.outputDown(spec.name);
    const now = Date.now();
    if (!outage) {
      outage = { sinceMs: now, failures: 0, retryAtMs: now };
      log.warn(`${stream}: ${spec.title} failed (${briefly(error)}); trying again`);
    }
    outage.failures++;
    outage.retryAtMs = now + reconnectDelay(outage.failures, now - outage.sinceMs, backoff);
    // The failure is said; what closing the failed run keeps is the output's own to say.
    await retire(current, () => undefined);
  };

  const fitted = async (frame: LiveFrame, width: number, height: number): Promise<LiveFrame> => {
    const { sharp } = frame;
    if (sharp.width === width && sharp.height === height) {
      toldSize = null;
      return frame;
    }
    const incoming = `${sharp.width}x${sharp.height}`;
    if (toldSize !== incoming) {
      toldSize = incoming;
      log.info(`${stream}: the camera now sends ${incoming}; ${spec.title} goes on at its first size, ${width}x${height}, each frame scaled to fit`);
    }
    return { ...frame, sharp: await fitFrame(sharp, width, height) };
  };

  const write = async (frame: LiveFrame): Promise<void> => {
    if (closing) return;
    if (outage && Date.now() < outage.retryAtMs) {
      if (spec.buffer === 1) metrics.outputDropped(spec.name);
      else hold([frame]);
      return;
    }
    const { width, height } = (size ??= { width: frame.sharp.width, height: frame.sharp.height });
    const current = (run ??= open(width, height));
    const due = [...held.splice(0), frame];
    let handed = 0;
    try {
      const output = await current;
      for (const next of due) {
        handed++;
        await output.write(spec.oneSize ? await fitted(next, width, height) : next);
      }
      if (!output.up) markUp(current);
    } catch (error) {
      // A frame handed to the run is the run's to keep or lose (a recording writes again what
      // its encoder took and did not write); the ones after it wait for the next run.
      if (spec.buffer > 1) hold(due.slice(handed));
      await fail(current, error);
    }
  };

  /** Keep `frames` for the next run, after those already held; beyond the buffer, the oldest are dropped. */
  const hold = (frames: readonly LiveFrame[]) => {
    held.push(...frames);
    for (; held.length > spec.buffer; held.shift()) metrics.outputDropped(spec.name);
  };

  let subscription: Subscription | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      subscription?.unsubscribe();
      const current = run;
      run = null;
      if (current) await retire(current, (error) => log.error(`${stream}: ${spec.title}: ${briefly(error)}`));
      await Promise.all(retiring);
    })());
  const done = new Promise<void>((resolve) => {
    // The stream's own failure is the camera's to report and mend; here it only ends the output.
    const end = () => resolve(close());
    subscription = frames.pipe(dropOldest(spec.buffer, write, () => metrics.outputDropped(spec.name))).subscribe({ complete: end, error: end });
  });
  return { done, close };
}
