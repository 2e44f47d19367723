import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { WORK } from "../helpers/clips.js";
import { lastHlsSegment, outputMetric, servedPort, startCommand } from "../helpers/command.js";
import { ffmpegsOf } from "../helpers/processes.js";
import { cameraAndPublishServer, type Started } from "../helpers/rtsp.js";
import { until } from "../helpers/until.js";

const servers: Started = [];
afterAll(async () => {
  for (const server of servers) await server.kill();
});

/** A config under which an encoder that takes nothing for 2 s is stalled. */
function quickStall(): string {
  const path = join(WORK, "shared-encoder-stall.yaml");
  writeFileSync(path, "live:\n  stallTimeoutMs: 2000\n");
  return path;
}

describe("serve --hls --publish: one encoder for both", () => {
  it("encodes once; a lost RTSP server ends its leg alone: HLS's media sequence goes on, and the server receives again once it is back", { timeout: 240_000 }, async () => {
    const { camera, listener } = await cameraAndPublishServer(servers);
    const serve = startCommand(["serve", `front=${camera.url}`, "--port", "0", "--model", "lite", "--threads", "1", "--hls", "--publish", `rtsp://127.0.0.1:${listener.port}/{stream}-deblurred`]);
    try {
      const port = await servedPort(serve);
      await until(async () => listener.times.length >= 10 && (await lastHlsSegment(port, "front")) >= 1, 120_000, () => `RTSP out and HLS:\n${serve.stderr()}`);
      // One x264 for both: a single encoder whose tee holds the playlist and the RTSP URL.
      const encoders = () => ffmpegsOf(serve.child.pid ?? 0).filter(({ argv }) => argv.includes("-i pipe:0"));
      expect(encoders()).toHaveLength(1);
      for (const leg of [/-f tee /, /index\.m3u8/, /front-deblurred/]) expect(encoders()[0]?.argv).toMatch(leg);

      await listener.kill();
      await until(async () => (await outputMetric(port, "dsanet_output_failures_total", "front", "publish")) >= 1, 60_000, () => `the lost server noticed:\n${serve.stderr()}`);
      const whileDown = await lastHlsSegment(port, "front");
      await until(async () => (await lastHlsSegment(port, "front")) >= whileDown + 3, 60_000, () => `HLS going on without RTSP out:\n${serve.stderr()}`);
      expect(await outputMetric(port, "dsanet_output_up", "front", "publish")).toBe(0);
      expect(await outputMetric(port, "dsanet_output_up", "front", "hls")).toBe(1);

      listener.start();
      await until(() => listener.times.length >= 10, 60_000, () => `frames at the restarted server:\n${serve.stderr()}`);
      await until(async () => (await outputMetric(port, "dsanet_output_up", "front", "publish")) === 1, 30_000, "RTSP out up again");
      const back = await lastHlsSegment(port, "front");
      await until(async () => (await lastHlsSegment(port, "front")) > back, 60_000, () => `HLS going on with RTSP out back:\n${serve.stderr()}`);
      expect(encoders()).toHaveLength(1);
      // HLS never went down: it moved to each new encoder, numbered on.
      expect(await outputMetric(port, "dsanet_output_failures_total", "front", "hls")).toBe(0);
      expect(serve.stderr().match(/front: publishing to rtsp:\/\/127\.0\.0\.1:\d+\/front-deblurred failed \(ffmpeg's rtsp output failed: [^)]+\); trying again/g)).toHaveLength(1);
      expect(serve.stderr()).toMatch(/front: publishing to rtsp:\/\/127\.0\.0\.1:\d+\/front-deblurred back after [\d.]+ s/);
      expect(serve.stderr()).not.toMatch(/front: HLS failed/);
    } finally {
      serve.child.kill("SIGKILL");
    }
  });

  it("a server that stops reading stalls the encoder: it is blamed, and HLS goes on in a new encoder", { timeout: 240_000 }, async () => {
    // Noise: a stream of many bytes, which soon fills what the sockets to a server that reads nothing hold.
    const { camera, listener } = await cameraAndPublishServer(servers, "snow:320x180@15");
    const serve = startCommand(["serve", `front=${camera.url}`, "--port", "0", "--model", "lite", "--threads", "1", "--config", quickStall(), "--hls", "--publish", `rtsp://127.0.0.1:${listener.port}/{stream}-deblurred`]);
    try {
      const port = await servedPort(serve);
      await until(async () => listener.times.length >= 10 && (await lastHlsSegment(port, "front")) >= 1, 120_000, () => `RTSP out and HLS:\n${serve.stderr()}`);
      expect(listener.ended, `the RTSP server ended before it was paused:\n${serve.stderr()}`).toBeNull();
      listener.pause();
      await until(async () => (await outputMetric(port, "dsanet_output_failures_total", "front", "publish")) >= 1, 120_000, () => `the stall noticed:\n${serve.stderr()}`);
      expect(serve.stderr()).toMatch(/front: publishing to rtsp:\/\/127\.0\.0\.1:\d+\/front-deblurred failed \(the server took nothing for 2000 ms\); trying again/);
      const stalledAt = await lastHlsSegment(port, "front");
      await until(async () => (await lastHlsSegment(port, "front")) >= stalledAt + 3, 60_000, () => `HLS going on after the stall:\n${serve.stderr()}`);
      // HLS moves to a new encoder without a failure of its own; if it failed, what serve said tells how.
      expect(await outputMetric(port, "dsanet_output_failures_total", "front", "hls"), serve.stderr()).toBe(0);
    } finally {
      serve.child.kill("SIGKILL");
      await listener.kill();
    }
  });
});
