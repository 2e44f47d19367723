import { Subscription } from "rxjs";
import { afterAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/model/engine.js";
import { createOnnxEngine } from "../../src/model/onnx-engine.js";
import { deblurLive, type LiveFrame } from "../../src/pipeline/live.js";
import { LiveMetrics } from "../../src/pipeline/metrics.js";
import { rtspSource } from "../../src/sources/rtsp.js";
import { MODEL } from "../helpers/clips.js";
import { RtspServer, freePort } from "../helpers/rtsp.js";

const SLOW_MS = 400;

/** The real model, made slower than the 10 fps camera on purpose. */
function slowed(engine: Engine): Engine {
  return {
    ...engine,
    run: async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
      return engine.run(...args);
    },
  };
}

const cleanup = new Subscription();
afterAll(() => cleanup.unsubscribe());

describe("live deblurring", () => {
  it("keeps latency bounded and counts drops when inference is slower than the camera", async () => {
    const server = new RtspServer(await freePort());
    await server.start();
    const engine = await createOnnxEngine({ model: MODEL, scales: 3, threads: 1, provider: "cpu" });
    const metrics = new LiveMetrics();
    const delivered: LiveFrame[] = [];
    const frames = rtspSource(server.url, { name: "cam", transport: "tcp", stallTimeoutMs: 3000, backoff: { initialMs: 200, maxMs: 1000 }, maxAttempts: null });
    cleanup.add(
      deblurLive(frames, slowed(engine), { carryState: true, tile: null, overlap: 32, queue: 2, metrics: metrics.stream("cam") }).subscribe((f) =>
        delivered.push(f),
      ),
    );
    const deadline = Date.now() + 40_000;
    while (delivered.length < 20 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    cleanup.unsubscribe();
    await server.kill();
    await engine.close();

    const m = metrics.stream("cam");
    expect(delivered.length).toBeGreaterThanOrEqual(20);
    expect(m.framesDropped).toBeGreaterThan(delivered.length); // 10 fps in, under 2.5 fps out
    expect(m.framesIn).toBeGreaterThanOrEqual(m.framesOut + m.framesDropped);
    // A frame waits for at most the one being processed and the queue ahead of it.
    const latencies = delivered.map((f) => f.latencyMs);
    const perFrame = Math.max(...delivered.map((f) => f.inferenceMs));
    expect(Math.max(...latencies)).toBeLessThan(4 * perFrame + 500);
    const firstFive = latencies.slice(2, 7).reduce((a, b) => a + b) / 5;
    const lastFive = latencies.slice(-5).reduce((a, b) => a + b) / 5;
    expect(lastFive).toBeLessThan(firstFive + perFrame);
  });
});
