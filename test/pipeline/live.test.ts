import { Subscription } from "rxjs";
import { afterAll, describe, expect, it } from "vitest";
import { deblurLive, type LiveFrame } from "../../src/pipeline/live.js";
import { LiveMetrics } from "../../src/pipeline/metrics.js";
import { rtspSource } from "../../src/sources/rtsp.js";
import { liveEngine } from "../helpers/live.js";
import { RtspServer, freePort } from "../helpers/rtsp.js";
import { until } from "../helpers/until.js";

// A camera several times faster than the model on a CPU core (about 3 fps at this size).
const CAMERA_FPS = 25;
/** Frames that may wait for the model. */
const QUEUE = 2;

const cleanup = new Subscription();
afterAll(() => cleanup.unsubscribe());

describe("live deblurring", () => {
  it("reads the camera at its own rate while the model works, drops the oldest frames and keeps latency bounded", async () => {
    const server = new RtspServer(await freePort(), `480x288@${CAMERA_FPS}`);
    await server.start();
    const engine = await liveEngine();
    const metrics = new LiveMetrics();
    const delivered: LiveFrame[] = [];
    const frames = rtspSource(server.url, { name: "cam", transport: "tcp", stallTimeoutMs: 3000, backoff: { initialMs: 200, maxMs: 1000 }, maxAttempts: null });
    cleanup.add(
      frames.pipe(deblurLive(engine, { carryState: true, tile: null, overlap: 32, memoryLimitMB: null, regions: "off", queue: QUEUE, metrics: metrics.stream("cam") })).subscribe((f) =>
        delivered.push(f),
      ),
    );
    // About 10 s on two idle cores; a machine busy with other jobs can take minutes. The
    // figures below are ratios of what arrived, so only this wait depends on the speed.
    try {
      await until(() => delivered.length >= 30, 240_000, () => `30 frames deblurred (${delivered.length} came)`);
    } finally {
      cleanup.unsubscribe();
      await server.kill();
      await engine.close();
    }

    const m = metrics.stream("cam");
    // Inference runs in the engine's worker thread, so the source goes on reading meanwhile:
    // frames arrive at the camera's rate, not the model's, and the surplus is dropped.
    const first = delivered[0]?.original.receivedAtMs ?? 0;
    const seconds = ((delivered.at(-1)?.original.receivedAtMs ?? 0) - first) / 1000;
    expect(m.counts.framesIn).toBeGreaterThan(0.5 * CAMERA_FPS * seconds);
    expect(m.counts.framesDropped).toBeGreaterThan(delivered.length);
    expect(m.counts.framesIn).toBeGreaterThanOrEqual(m.counts.framesOut + m.counts.framesDropped);
    // A frame waits for at most the one in inference and the queue ahead of it: while it waits,
    // at most QUEUE + 1 frames come out, itself included. Counted in frames, not milliseconds,
    // so a machine busy with other jobs slows the inferences without changing the count.
    const doneAt = delivered.map((f) => (f.original.receivedAtMs ?? 0) + f.latencyMs);
    const outWhileWaiting = delivered.map((f, i) => doneAt.filter((t) => t > (f.original.receivedAtMs ?? 0) && t <= (doneAt[i] ?? 0)).length);
    expect(Math.max(...outWhileWaiting)).toBeLessThanOrEqual(QUEUE + 1);
  }, 300_000);
});
