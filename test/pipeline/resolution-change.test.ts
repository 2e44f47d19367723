import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { loadEngineInWorker } from "../../src/engine/engine-in-worker.js";
import { serve } from "../../src/pipeline/serve.js";
import type { LiveEvent } from "../../src/sources/rtsp.js";
import { WORK } from "../helpers/clips.js";
import { serveOptions } from "../helpers/live.js";
import { RtspServer, freePort } from "../helpers/rtsp.js";
import { until } from "../helpers/until.js";

const servers: RtspServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.kill();
});


describe("a camera back at another resolution", () => {
  it("is deblurred at its new size, said once, while the recording goes on at its first size", async () => {
    const port = await freePort();
    const first = new RtspServer(port, "160x96@10");
    servers.push(first);
    await first.start();
    const engine = await loadEngineInWorker({ type: "onnx", model: "lite", scales: null, stages: null, precision: "fp32", threads: 1, provider: "cpu", backend: "auto" });
    const output = join(WORK, "resized-recording.mp4");
    const events: LiveEvent[] = [];
    const said: string[] = [];
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      said.push(String(chunk));
      return true;
    });
    const serving = await serve(serveOptions(engine, { sources: [{ name: "cam", url: first.url }], record: output, onEvent: (e) => events.push(e) }));
    const cam = serving.metrics.stream("cam");
    /** Frames out before the camera came back: every frame of the first size. */
    let before = 0;
    try {
      await until(() => cam.counts.framesOut >= 10, 60_000, "frames at the first size");
      await first.kill();
      await until(() => events.some((e) => e.type === "outage-start"), 10_000, "the outage");
      before = cam.counts.framesOut;
      const second = new RtspServer(port, "320x240@10");
      servers.push(second);
      await second.start();
      await until(() => cam.counts.framesOut >= before + 10, 60_000, "frames at the new size");
    } finally {
      // Twice at once, as a process manager's SIGTERM and a Ctrl-C may: one stop, one recording.
      await Promise.all([serving.close(), serving.close()]);
      await engine.close();
      stderr.mockRestore();
    }
    const log = said.join("");
    expect(log).not.toContain("dsanet error");
    expect(events.filter((e) => e.type === "resized")).toHaveLength(1);
    expect(log.match(/cam: the camera is back at 320x240 \(was 160x96\); deblurring at the new size/g)).toHaveLength(1);
    expect(log.match(/cam: the camera now sends 320x240; the recording goes on at its first size, 160x96/g)).toHaveLength(1);
    // One playable file at the first size, holding frames from both sides of the change.
    const probed = execFileSync("ffprobe", ["-v", "error", "-count_frames", "-show_entries", "stream=width,height,nb_read_frames", "-of", "csv=p=0", output]).toString().trim();
    const [width, height, count] = probed.split(",").map(Number);
    expect([width, height]).toEqual([160, 96]);
    expect(count).toBeGreaterThan(before);
    expect(count).toBeGreaterThanOrEqual(before + 10 - (cam.outputs.get("recording")?.dropped ?? 0));
  });
});
