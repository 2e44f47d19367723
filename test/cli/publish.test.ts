import { afterAll, describe, expect, it } from "vitest";
import { metric, outputMetric, servedPort, startCommand } from "../helpers/command.js";
import { cameraAndPublishServer, type Started } from "../helpers/rtsp.js";
import { until } from "../helpers/until.js";

const servers: Started = [];
afterAll(async () => {
  for (const server of servers) await server.kill();
});

/** The median gap between consecutive frame times, in seconds. */
function medianGap(times: readonly number[]): number {
  const gaps = times.slice(1).map((t, i) => t - (times[i] as number)).sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)] ?? 0;
}

describe("serve --publish", () => {
  it("pushes the deblurred stream to an RTSP server at the camera's rate, and survives that server's restart", { timeout: 180_000 }, async () => {
    const { camera, listener } = await cameraAndPublishServer(servers);
    const serve = startCommand(["serve", `front=${camera.url}`, "--port", "0", "--model", "lite", "--threads", "1", "--publish", `rtsp://127.0.0.1:${listener.port}/{stream}-deblurred`]);
    try {
      const port = await servedPort(serve);
      await until(() => listener.times.length >= 30, 60_000, () => `30 frames at the server (${listener.times.length}):\n${serve.stderr()}`);
      expect(listener.stream).toMatch(/^h264 .*, 160x96/);
      // Stamped as they came, from a 10 fps camera whose every frame the model keeps up with.
      expect(medianGap(listener.times)).toBeGreaterThan(0.07);
      expect(medianGap(listener.times)).toBeLessThan(0.13);
      expect(await outputMetric(port, "dsanet_output_up", "front", "publish")).toBe(1);
      expect(serve.stderr()).toMatch(/front: publishing to rtsp:\/\/127\.0\.0\.1:\d+\/front-deblurred at 160x96/);

      // The server goes away: the publisher says so once, keeps the camera and viewers going, and
      // is back once a server listens there again.
      await listener.kill();
      await until(async () => (await outputMetric(port, "dsanet_output_failures_total", "front", "publish")) >= 1, 30_000, "the lost server noticed");
      expect(await outputMetric(port, "dsanet_output_up", "front", "publish")).toBe(0);
      const deblurredDuringOutage = await metric(port, "dsanet_frames_out_total", "front");
      await until(async () => (await metric(port, "dsanet_frames_out_total", "front")) >= deblurredDuringOutage + 10, 30_000, "frames deblurred while the server is gone");
      listener.start();
      await until(() => listener.times.length >= 10, 60_000, () => `frames at the restarted server:\n${serve.stderr()}`);
      await until(async () => (await outputMetric(port, "dsanet_output_up", "front", "publish")) === 1, 30_000, "the publisher up again");
      // Said once for the outage, however many attempts it took, with the way ffmpeg ended rather than its last stderr line.
      expect(serve.stderr().match(/front: publishing to rtsp:\/\/127\.0\.0\.1:\d+\/front-deblurred failed \((ffmpeg exited with code \d+|the server took nothing for \d+ ms)\); trying again/g)).toHaveLength(1);
      expect(serve.stderr()).toMatch(/front: publishing to rtsp:\/\/127\.0\.0\.1:\d+\/front-deblurred back after [\d.]+ s/);
      expect(await outputMetric(port, "dsanet_output_dropped_total", "front", "publish")).toBeGreaterThan(0);
    } finally {
      serve.child.kill("SIGKILL");
    }
  });
});
