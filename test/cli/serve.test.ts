import { spawn, spawnSync, type ChildProcessByStdio } from "node:child_process";
import { once } from "node:events";
import { execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { REPO, WORK, streamInfo } from "../helpers/clips.js";
import { RtspServer, freePort } from "../helpers/rtsp.js";

/** The command a user runs from a checkout: bin/dsanet, on the built dist/ (npm test builds it). */
const DSANET = join(REPO, "bin/dsanet");

let camera: RtspServer | null = null;
afterAll(() => camera?.kill());

function startServe(...args: string[]): { child: ChildProcessByStdio<null, null, Readable>; stderr: () => string } {
  const child = spawn(DSANET, ["serve", ...args, "--threads", "1"], { cwd: REPO, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, stderr: () => stderr };
}

async function until<T>(probe: () => T | null | Promise<T | null>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("dsanet serve", () => {
  it("records while serving, and SIGTERM to the command the user started stops it within 5 s with a playable file", async () => {
    camera = new RtspServer(await freePort());
    await camera.start();
    const output = join(WORK, "recorded.mp4");
    const { child, stderr } = startServe(`front=${camera.url}`, "--port", "0", "--record", output);
    const port = await until(() => Number(/serving 1 stream\(s\) at http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr())?.[1] ?? 0) || null, 60_000, "serving");
    // Wait until a few frames have been deblurred, as /metrics counts them.
    const deblurred = await until(
      async () => {
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const count = Number(/dsanet_frames_out_total\{stream="front"\} (\d+)/.exec(metrics)?.[1] ?? 0);
        return count >= 10 ? count : null;
      },
      60_000,
      "10 deblurred frames",
    );
    const stopping = Date.now();
    child.kill("SIGTERM");
    const [code] = (await once(child, "exit")) as [number | null];
    expect(Date.now() - stopping).toBeLessThan(5000);
    expect(code).toBe(0);
    expect(stderr()).toContain("stopping: finishing recordings");
    execFileSync("ffmpeg", ["-v", "error", "-xerror", "-i", output, "-f", "null", "-"]);
    // Every frame deblurred before the stop is in the recording (those waiting for the encoder too).
    expect(streamInfo(output, "v:0").pts.length).toBeGreaterThanOrEqual(deblurred);
    // The port is free again: nothing was left running.
    const probe = createServer();
    await new Promise<void>((resolve, reject) => probe.once("error", reject).listen(port, "127.0.0.1", resolve));
    probe.close();
  });

  it("fails to start with one line and exit 2 when its port is taken, instead of hanging", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as { port: number };
    try {
      const { child, stderr } = startServe("rtsp://127.0.0.1:1/none", "--port", String(port));
      const [code] = (await once(child, "exit")) as [number | null];
      expect(code).toBe(2);
      const lines = stderr().trim().split("\n").filter((l) => l.includes("error"));
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
