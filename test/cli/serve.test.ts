import { spawn } from "node:child_process";
import { once } from "node:events";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO, WORK, streamInfo } from "../helpers/clips.js";
import { RtspServer, freePort } from "../helpers/rtsp.js";

let camera: RtspServer | null = null;
afterAll(() => camera?.kill());

describe("dsanet serve", () => {
  it("records while serving, and SIGTERM leaves a playable file", async () => {
    camera = new RtspServer(await freePort());
    await camera.start();
    const output = join(WORK, "recorded.mp4");
    const child = spawn(process.execPath, ["--import", "tsx", join(REPO, "src/cli/main.ts"), "serve", `front=${camera.url}`, "--port", "0", "--record", output, "--threads", "1"], {
      cwd: REPO,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const port = await new Promise<number>((resolve) => {
      const check = () => {
        const match = /serving 1 stream\(s\) at http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr);
        if (match?.[1]) resolve(Number(match[1]));
        else setTimeout(check, 100);
      };
      check();
    });
    // Wait until a few frames have been deblurred, as /metrics counts them.
    const deadline = Date.now() + 60_000;
    let out = 0;
    while (out < 10 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      out = Number(/dsanet_frames_out_total\{stream="front"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    }
    expect(out).toBeGreaterThanOrEqual(10);
    child.kill("SIGTERM");
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(0);
    expect(stderr).toContain("stopping: finishing recordings");
    execFileSync("ffmpeg", ["-v", "error", "-xerror", "-i", output, "-f", "null", "-"]);
    expect(streamInfo(output, "v:0").pts.length).toBeGreaterThanOrEqual(10);
  });
});
