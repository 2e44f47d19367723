import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, WORK, clip, streamInfo } from "../helpers/clips.js";
import { DSANET, metric, servedPort, startCommand } from "../helpers/command.js";
import { RtspServer, freePort } from "../helpers/rtsp.js";
import { until } from "../helpers/until.js";

/** A small tmpfs that fills up after a few frames, or null where mounting is refused (no root). */
const FULL = join(WORK, "full-disk");
let mounted = false;
let camera: RtspServer | null = null;

beforeAll(() => {
  mkdirSync(FULL, { recursive: true });
  mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=96k", "tmpfs", FULL]).status === 0;
  if (!mounted) console.warn(`disk-full tests skipped: cannot mount a tmpfs on ${FULL} (they need root)`);
});
afterAll(async () => {
  await camera?.kill();
  if (mounted) spawnSync("umount", [FULL]);
});

describe("a full disk", () => {
  it("deblur: one line naming the cause, exit 2, and nothing left where the output belongs", (context) => {
    if (!mounted) context.skip();
    const input = clip("noise-in.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=4", "-c:v", "libx264", "-pix_fmt", "yuv420p");
    const output = join(FULL, "out.mkv");
    const run = spawnSync(DSANET, ["deblur", input, "-o", output, "--model", "lite", "--threads", "1", "--lossless", "-q"], { cwd: REPO, encoding: "utf8", timeout: 120_000 });
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr.trim().split("\n")).toEqual([`dsanet error: ${output}: cannot write: no space left on device (ENOSPC)`]);
    expect(readdirSync(FULL)).toEqual([]);
  });

  it("serve --record: the recording stops, said once and counted; the stream goes on; what fits is kept and plays", { timeout: 180_000 }, async (context) => {
    if (!mounted) context.skip();
    camera = new RtspServer(await freePort(), "320x240@10");
    await camera.start();
    const output = join(FULL, "recording.mp4");
    // Lossless x264: the disk fills in seconds.
    const config = join(WORK, "record-lossless.yaml");
    writeFileSync(config, "output:\n  crf: 0\n  preset: ultrafast\n");
    const serve = startCommand(["serve", `cam=${camera.url}`, "--port", "0", "--model", "lite", "--threads", "1", "--record", output, "--config", config]);
    try {
      const port = await servedPort(serve);
      await until(async () => (await metric(port, "dsanet_recording_failures_total", "cam")) === 1, 120_000, `a failed recording:\n${serve.stderr()}`);
      // The viewers' stream does not stop with the recording.
      const out = await metric(port, "dsanet_frames_out_total", "cam");
      await until(async () => (await metric(port, "dsanet_frames_out_total", "cam")) >= out + 5, 60_000, "frames after the failure");
      expect(await metric(port, "dsanet_recording_dropped_total", "cam")).toBeGreaterThan(0);
      serve.child.kill("SIGINT");
      expect(await serve.exit(30_000), serve.stderr()).toBe(0);
    } finally {
      serve.child.kill("SIGKILL");
    }
    const said = serve.stderr().split("\n").filter((line) => line.includes("no space left on device (ENOSPC)"));
    expect(said[0]).toBe(`dsanet error: cam: the recording stopped: ${output}: cannot write: no space left on device (ENOSPC)`);
    // Once when it happened, once at the stop to say what was kept.
    expect(said).toHaveLength(2);
    const kept = /the (\d+) frames written before it are in (.+)$/.exec(said[1] ?? "");
    expect(kept?.[2]).toBe(output);
    // Cut back to its last whole fragment: every frame decodes, to the end.
    execFileSync("ffmpeg", ["-v", "error", "-xerror", "-i", output, "-f", "null", "-"]);
    expect(streamInfo(output, "v:0").pts.length).toBe(Number(kept?.[1]));
    expect(readdirSync(FULL).filter((name) => name.includes(".partial."))).toEqual([]);
    expect(existsSync(output)).toBe(true);
  });
});
