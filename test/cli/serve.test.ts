import { execFileSync, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO, WORK, streamInfo } from "../helpers/clips.js";
import { DSANET, metric, servedPort, startCommand, type RunningCommand } from "../helpers/command.js";
import { RtspServer, freePort } from "../helpers/rtsp.js";
import { until } from "../helpers/until.js";

let camera: RtspServer | null = null;
afterAll(() => camera?.kill());

function startServe(...args: string[]): RunningCommand {
  return startCommand(["serve", ...args, "--threads", "1"]);
}

describe("dsanet serve", () => {
  it("records while serving, and SIGTERM to the command the user started stops it with a playable file", async () => {
    camera = new RtspServer(await freePort());
    await camera.start();
    const output = join(WORK, "recorded.mp4");
    const serve = startServe(`front=${camera.url}`, "--port", "0", "--record", output);
    const port = await servedPort(serve);
    // Wait until a few frames have been deblurred, as /metrics counts them.
    const deblurred = await until(async () => {
      const count = await metric(port, "dsanet_frames_out_total", "front");
      return count >= 10 ? count : null;
    }, 60_000, "10 deblurred frames");
    serve.child.kill("SIGTERM");
    expect(await serve.exit(30_000)).toBe(0);
    expect(serve.stderr()).toContain("stopping: finishing recordings");
    execFileSync("ffmpeg", ["-v", "error", "-xerror", "-i", output, "-f", "null", "-"]);
    // Every frame deblurred before the stop is in the recording (those waiting for the encoder too).
    expect(streamInfo(output, "v:0").pts.length).toBeGreaterThanOrEqual(deblurred);
    // The port is free again: nothing was left running.
    const probe = createServer();
    await new Promise<void>((resolve, reject) => probe.once("error", reject).listen(port, "127.0.0.1", resolve));
    probe.close();
  });

  it("--regions auto: a still camera's moving ball goes through the model, not the whole picture, as /metrics says", async () => {
    // A camera's picture, not the other tests' thumbnail: at 160x96 the ball with its margin and
    // the context the model sees around it (32 pixels) fill most of the frame.
    const wide = new RtspServer(await freePort(), "320x192@10");
    await wide.start();
    const serve = startServe(`front=${wide.url}`, "--port", "0", "--model", "lite", "--regions", "auto");
    try {
      const port = await servedPort(serve);
      await until(async () => (await metric(port, "dsanet_frames_out_total", "front")) >= 20, 60_000, "20 deblurred frames");
      const [out, deblurred] = [await metric(port, "dsanet_frames_out_total", "front"), await metric(port, "dsanet_frames_deblurred_total", "front")];
      // The first frame goes whole (nothing to compare it with); then only the ball and its margin.
      expect(deblurred / out, `${deblurred} of ${out} frames' worth of pixels`).toBeGreaterThan(0);
      expect(deblurred / out).toBeLessThan(0.6);
    } finally {
      serve.child.kill("SIGKILL");
      await wide.kill();
    }
  });

  it("fails to start with one line and exit 2 when its port is taken, instead of hanging", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as { port: number };
    try {
      const serve = startServe("rtsp://127.0.0.1:1/none", "--port", String(port));
      expect(await serve.exit(30_000)).toBe(2);
      const lines = serve.stderr().trim().split("\n").filter((l) => l.includes("error"));
      expect(lines).toEqual([`dsanet error: 127.0.0.1:${port} is already in use: choose another port (--port, viewer.port)`]);
    } finally {
      taken.close();
    }
  });

  it("refuses camera URLs that are not rtsp:// or rtsps:// at startup, naming the field", () => {
    for (const url of ["rtsp:/bad", "http://192.0.2.1/stream"]) {
      const run = spawnSync(DSANET, ["serve", url, "--port", "0"], { cwd: REPO, encoding: "utf8", timeout: 10_000 });
      expect(run.status).toBe(2);
      expect(run.stderr).toMatch(/live\.sources\.0\.url: an rtsp:\/\/ or rtsps:\/\/ URL with a host/);
    }
    // A password holding "@" is hidden whole in the message.
    const secret = spawnSync(DSANET, ["serve", "http://admin:ss@SECRET@192.0.2.1/stream", "--port", "0"], { cwd: REPO, encoding: "utf8", timeout: 10_000 });
    expect(secret.stderr).toContain("http://***@192.0.2.1/stream");
    expect(secret.stderr).not.toContain("SECRET");
  });
});
