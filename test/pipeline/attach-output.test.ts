import { Subject } from "rxjs";
import { describe, expect, it, vi } from "vitest";
import { log } from "../../src/log.js";
import { attachOutput } from "../../src/pipeline/attach-output.js";
import type { FrameOutput, OutputSpec } from "../../src/pipeline/frame-output.js";
import type { LiveFrame } from "../../src/pipeline/live.js";
import { StreamMetrics } from "../../src/pipeline/metrics.js";
import { until } from "../helpers/until.js";

function liveFrame(index: number, width = 8, height = 6): LiveFrame {
  const frame = { stream: "cam", index, ptsMs: index * 100, width, height, rgb: new Uint8Array(width * height * 3).fill(index % 256) };
  return { original: frame, sharp: frame, deblurredShare: 1, inferenceMs: 1, latencyMs: 1 };
}

/** An output whose runs the test breaks: each run records what it took, and whether it was closed. */
function brokenOnCommand(oneSize: boolean, buffer = 4) {
  const runs: { frames: LiveFrame[]; closed: boolean; size: string }[] = [];
  let breakNext = false;
  const spec: OutputSpec = {
    name: "test",
    title: "the test output",
    buffer,
    oneSize,
    open: async (width, height) => {
      const run = { frames: [] as LiveFrame[], closed: false, size: `${width}x${height}` };
      runs.push(run);
      const output: FrameOutput = {
        write: async (frame) => {
          if (breakNext) {
            breakNext = false;
            throw new Error("encoder gone\nits stderr");
          }
          run.frames.push(frame);
        },
        close: async () => {
          run.closed = true;
        },
      };
      return output;
    },
  };
  return { spec, runs, breakNow: () => (breakNext = true) };
}

/**
 * An output of `buffer` frames whose first run took a frame and failed at the second, under a
 * clock the test holds: the backoff ends when the test says so, not when a loaded machine
 * happens to poll past it. `send` sends the next frame, `passBackoff` moves the clock past it.
 */
async function failedOnce(buffer: number) {
  const frames = new Subject<LiveFrame>();
  const metrics = new StreamMetrics();
  const { spec, runs, breakNow } = brokenOnCommand(true, buffer);
  let nowMs = 1_000_000;
  vi.spyOn(Date, "now").mockImplementation(() => nowMs);
  const attached = attachOutput(frames, spec, { stream: "cam", backoff: { initialMs: 2000, maxMs: 2000 }, metrics });
  let index = 0;
  const send = () => frames.next(liveFrame(index++));
  send();
  await until(() => runs[0]?.frames.length === 1, 5000, "the first run's first frame");
  expect(metrics.outputs.get("test")?.downSinceMs).toBeNull();
  breakNow();
  send(); // frame 1: the failed run's to keep or lose
  await until(() => runs[0]?.closed, 5000, "the failed run closed");
  expect(metrics.outputs.get("test")?.downSinceMs).not.toBeNull();
  return { frames, metrics, runs, attached, send, passBackoff: () => (nowMs += 60_000) };
}

describe("attachOutput", () => {
  it("closes a failed run, says so once, drops frames during the backoff (latest-only), and opens the next run after it", async () => {
    const warned = vi.spyOn(log, "warn").mockImplementation(() => undefined);
    const told = vi.spyOn(log, "info").mockImplementation(() => undefined);
    try {
      const { frames, metrics, runs, attached, send, passBackoff } = await failedOnce(1);
      // Within the backoff, frames are dropped and no run is opened.
      send();
      send();
      await until(() => metrics.outputs.get("test")?.dropped === 2, 5000, "two frames dropped");
      expect(runs).toHaveLength(1);
      // Past it (jitter included), the next frame opens the second run.
      passBackoff();
      send();
      await until(() => (runs[1]?.frames.length ?? 0) > 0 && metrics.outputs.get("test")?.downSinceMs === null, 5000, "a second run with frames, up");
      const counts = metrics.outputs.get("test");
      expect(counts?.failures).toBe(1);
      expect(counts?.dropped).toBe(2);
      expect(warned.mock.calls).toEqual([["cam: the test output failed (encoder gone); trying again"]]);
      expect(told.mock.calls.map(([line]) => line)).toEqual(["cam: the test output at 8x6", expect.stringMatching(/^cam: the test output back after [\d.]+ s$/)]);

      frames.complete();
      await attached.done;
      expect(runs.map((run) => run.closed)).toEqual([true, true]);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it("an output with a buffer holds the frames of the backoff for its next run, up to its buffer, the oldest dropped", async () => {
    vi.spyOn(log, "warn").mockImplementation(() => undefined);
    vi.spyOn(log, "info").mockImplementation(() => undefined);
    try {
      const { frames, metrics, runs, attached, send, passBackoff } = await failedOnce(4);
      // Within the backoff: six frames for a buffer of four; no run is opened.
      for (let i = 0; i < 6; i++) send();
      await until(() => metrics.outputs.get("test")?.dropped === 2, 5000, "the two oldest dropped");
      expect(runs).toHaveLength(1);
      passBackoff();
      send();
      await until(() => runs[1]?.frames.length === 5, 5000, "the held frames and the new one in the second run");
      expect(runs[1]?.frames.map((frame) => frame.original.index)).toEqual([4, 5, 6, 7, 8]);
      expect(metrics.outputs.get("test")?.dropped).toBe(2);
      frames.complete();
      await attached.done;
    } finally {
      vi.restoreAllMocks();
    }
  });

  it("fits every frame to the first size for an encoder, and leaves them as they are for others", async () => {
    for (const oneSize of [true, false]) {
      const frames = new Subject<LiveFrame>();
      const { spec, runs } = brokenOnCommand(oneSize);
      const attached = attachOutput(frames, spec, { stream: "cam", backoff: { initialMs: 200, maxMs: 200 }, metrics: new StreamMetrics() });
      frames.next(liveFrame(0, 8, 6));
      frames.next(liveFrame(1, 16, 6));
      frames.complete();
      await attached.done;
      expect(runs.map((run) => run.size)).toEqual(["8x6"]);
      expect(runs[0]?.frames.map(({ sharp }) => `${sharp.width}x${sharp.height}`)).toEqual(oneSize ? ["8x6", "8x6"] : ["8x6", "16x6"]);
    }
  });

  it("close() stops taking frames and closes the run, once however often it is called", async () => {
    const frames = new Subject<LiveFrame>();
    const { spec, runs } = brokenOnCommand(true);
    const attached = attachOutput(frames, spec, { stream: "cam", backoff: { initialMs: 200, maxMs: 200 }, metrics: new StreamMetrics() });
    frames.next(liveFrame(0));
    await until(() => runs[0]?.frames.length === 1, 5000, "a frame");
    await Promise.all([attached.close(), attached.close()]);
    frames.next(liveFrame(1));
    expect(runs).toHaveLength(1);
    expect(runs[0]?.closed).toBe(true);
    expect(runs[0]?.frames).toHaveLength(1);
    expect(frames.observed).toBe(false);
  });
});
