import { describe, expect, it } from "vitest";
import { LiveMetrics } from "../../src/pipeline/metrics.js";

describe("live metrics", () => {
  it("exposes each stream's counts, latency histograms and the process's own metrics", async () => {
    const metrics = new LiveMetrics();
    const cam = metrics.stream('front "door"');
    for (let i = 0; i < 5; i++) cam.received();
    cam.delivered(300, 450, 1);
    cam.delivered(320, 2000, 0.25);
    for (let i = 0; i < 3; i++) cam.dropped();
    cam.sourceEvent({ type: "outage-start", stream: "cam", atMs: 0, reason: "gone" });
    cam.sourceEvent({ type: "outage-end", stream: "cam", atMs: 2700, durationMs: 2700, framesMissed: 67 });
    cam.outputDown("publish");
    cam.outputDropped("publish");
    cam.outputDown("publish");
    cam.outputUp("recording");
    cam.restarting();
    metrics.viewersConnected(2);

    const text = await metrics.toPrometheus();
    const label = 'stream="front \\"door\\""';
    expect(text).toContain(`dsanet_frames_in_total{${label}} 5`);
    expect(text).toContain(`dsanet_frames_out_total{${label}} 2`);
    expect(text).toContain(`dsanet_frames_deblurred_total{${label}} 1.25`);
    expect(text).toContain(`dsanet_frames_dropped_total{${label}} 3`);
    expect(text).toContain(`dsanet_reconnects_total{${label}} 1`);
    expect(text).toContain(`dsanet_stream_up{${label}} 0`);
    expect(text).toContain(`dsanet_stream_restarts_total{${label}} 1`);
    expect(text).toContain(`dsanet_last_recovery_seconds{${label}} 2.7`);
    // One outage however many failed attempts it takes.
    expect(text).toContain(`dsanet_output_up{${label},output="publish"} 0`);
    expect(text).toContain(`dsanet_output_failures_total{${label},output="publish"} 1`);
    expect(text).toContain(`dsanet_output_dropped_total{${label},output="publish"} 1`);
    expect(text).toContain(`dsanet_output_up{${label},output="recording"} 1`);
    expect(text).toContain(`dsanet_latency_seconds_bucket{le="0.5",${label}} 1`);
    expect(text).toContain(`dsanet_latency_seconds_bucket{le="2.5",${label}} 2`);
    expect(text).toContain(`dsanet_inference_seconds_count{${label}} 2`);
    expect(text).toContain("dsanet_viewers 2");
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds [\d.e-]+/m);

    // Counters read again at the next scrape, not added twice.
    cam.received();
    expect(await metrics.toPrometheus()).toContain(`dsanet_frames_in_total{${label}} 6`);
  });
});
