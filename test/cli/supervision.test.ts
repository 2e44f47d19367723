import { afterAll, describe, expect, it } from "vitest";
import { INSPECTABLE, killEngineWorker } from "../helpers/engine-worker.js";
import { failingModel } from "../helpers/failing-model.js";
import { metric, servedPort, startCommand } from "../helpers/command.js";
import { ffmpegsWith } from "../helpers/processes.js";
import { RtspServer, freePort } from "../helpers/rtsp.js";
import { until } from "../helpers/until.js";

const servers: RtspServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.kill();
});

/**
 * A camera for a model that passes dark frames and fails on bright ones (failing-model.ts):
 * "flash:" shows black until told (SIGUSR1) to show white, and starts each new session black,
 * so the engine breaks when the test says and a restart (a new session) mends it; the moving
 * pattern shows a white ball in every frame, so no restart mends it.
 */
async function camera(source: string): Promise<RtspServer> {
  const server = new RtspServer(await freePort(), source);
  servers.push(server);
  await server.start();
  return server;
}

describe("serve: supervision", () => {
  it("a camera's pipeline that errors is started again, its state afresh, counted; the stream goes on", { timeout: 180_000 }, async () => {
    const flashing = await camera("flash:160x96@10");
    const serve = startCommand(["serve", `front=${flashing.url}`, "--port", "0", "--model", failingModel(), "--threads", "1"]);
    try {
      const port = await servedPort(serve);
      await until(async () => (await metric(port, "dsanet_frames_out_total", "front")) >= 10, 60_000, () => `10 frames:\n${serve.stderr()}`);
      flashing.signal("SIGUSR1");
      await until(async () => (await metric(port, "dsanet_stream_restarts_total", "front")) >= 1, 60_000, () => `a restart:\n${serve.stderr()}`);
      const out = await metric(port, "dsanet_frames_out_total", "front");
      await until(async () => (await metric(port, "dsanet_frames_out_total", "front")) >= out + 10, 60_000, () => `frames after the restart:\n${serve.stderr()}`);
      await until(async () => (await metric(port, "dsanet_stream_up", "front")) === 1, 30_000, "the stream up again");
      expect(serve.child.exitCode).toBeNull();
      expect(serve.stderr()).toMatch(/front: the stream failed \(.*indices element out of data bounds.*\); starting it again, its state afresh/);
    } finally {
      serve.child.kill("SIGKILL");
    }
  });

  it("an engine worker that dies is started again: the camera's pipeline restarts, counted, and frames flow again", { timeout: 180_000 }, async () => {
    const ball = await camera("160x96@10");
    const serve = startCommand(["serve", `front=${ball.url}`, "--port", "0", "--model", "lite", "--threads", "1"], { env: INSPECTABLE });
    try {
      const port = await servedPort(serve);
      await until(async () => (await metric(port, "dsanet_frames_out_total", "front")) >= 10, 60_000, () => `10 frames:\n${serve.stderr()}`);
      await killEngineWorker(serve);
      await until(async () => (await metric(port, "dsanet_stream_restarts_total", "front")) >= 1, 60_000, () => `a restart:\n${serve.stderr()}`);
      const out = await metric(port, "dsanet_frames_out_total", "front");
      await until(async () => (await metric(port, "dsanet_frames_out_total", "front")) >= out + 10, 60_000, () => `frames from the new worker:\n${serve.stderr()}`);
      await until(async () => (await metric(port, "dsanet_stream_up", "front")) === 1, 30_000, "the stream up again");
      expect(serve.child.exitCode).toBeNull();
      expect(serve.stderr()).toMatch(/dsanet error: engine worker died: killed by the test; it starts again at the next frame/);
      expect(serve.stderr()).toMatch(/front: the stream failed \(engine worker died: killed by the test\); starting it again, its state afresh/);
    } finally {
      serve.child.kill("SIGKILL");
    }
  });

  it("a pipeline that restarts do not mend ends serve with exit 1 and its reason, leaving no ffmpeg", { timeout: 180_000 }, async () => {
    const ball = await camera("160x96@10");
    const serve = startCommand(["serve", `front=${ball.url}`, "--port", "0", "--model", failingModel(), "--threads", "1"]);
    try {
      expect(await serve.exit(120_000), serve.stderr()).toBe(1);
    } finally {
      serve.child.kill("SIGKILL");
    }
    expect(serve.stderr()).toMatch(/dsanet error: front: the stream failed 6 times in a row, restarts do not mend it: .*indices element out of data bounds/);
    // Five restarts, each after the backoff; the sixth failure in a row ends it.
    expect(serve.stderr().match(/front: the stream failed \(.*\); starting it again/g)).toHaveLength(5);
    expect(ffmpegsWith(ball.url), "ffmpegs that outlived dsanet").toEqual([]);
  });
});
