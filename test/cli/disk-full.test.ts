import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, WORK, clip, streamInfo } from "../helpers/clips.js";
import { DSANET, metric, outputMetric, servedPort, startCommand } from "../helpers/command.js";
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

  it("serve --record: the failure is said once and counted, retried at the backoff's pace while the stream goes on; what fits is kept and plays; once there is room the recording goes on in a new segment", { timeout: 240_000 }, async (context) => {
    if (!mounted) context.skip();
    camera = new RtspServer(await freePort(), "320x240@10");
    await camera.start();
    const output = join(FULL, "recording.mp4");
    // Lossless x264: the disk fills in seconds. A fixed backoff of 1 s (0.5 to 1 s, jittered),
    // where the default doubles from 0.2 s, so that the pace of the attempts is plain.
    const config = join(WORK, "record-lossless.yaml");
    writeFileSync(config, "output:\n  crf: 0\n  preset: ultrafast\nlive:\n  backoffMs: 1000\n  maxBackoffMs: 1000\n");
    const serve = startCommand(["serve", `cam=${camera.url}`, "--port", "0", "--model", "lite", "--threads", "1", "--record", output, "--config", config]);
    /** Runs of the recording begun: one segment each. */
    const attempts = () => serve.stderr().match(/cam: recording to /g)?.length ?? 0;
    try {
      const port = await servedPort(serve);
      await until(async () => (await outputMetric(port, "dsanet_output_failures_total", "cam", "recording")) === 1, 120_000, `a failed recording:\n${serve.stderr()}`);
      expect(await outputMetric(port, "dsanet_output_up", "cam", "recording")).toBe(0);
      // The viewers' stream does not stop with the recording, and the recording is tried again
      // at the backoff's pace, not at every frame (10 a second): three attempts take at least
      // three half-second waits, however slow the machine.
      const [out, tried, since] = [await metric(port, "dsanet_frames_out_total", "cam"), attempts(), Date.now()];
      await until(() => attempts() >= tried + 3, 60_000, () => `three more attempts:\n${serve.stderr()}`);
      expect(Date.now() - since).toBeGreaterThanOrEqual(1500);
      expect(await metric(port, "dsanet_frames_out_total", "cam")).toBeGreaterThan(out);
      // Between attempts the frames wait for the next one, up to the recording's buffer; beyond
      // it, the oldest are dropped and counted.
      await until(async () => (await outputMetric(port, "dsanet_output_dropped_total", "cam", "recording")) > 0, 90_000, "frames dropped between attempts");
      // Room again: the next attempt records.
      expect(spawnSync("mount", ["-o", "remount,size=64m", FULL]).status).toBe(0);
      await until(async () => (await outputMetric(port, "dsanet_output_up", "cam", "recording")) === 1, 120_000, () => `the recording back:\n${serve.stderr()}`);
      serve.child.kill("SIGINT");
      expect(await serve.exit(30_000), serve.stderr()).toBe(0);
    } finally {
      serve.child.kill("SIGKILL");
    }
    const log = serve.stderr();
    const said = log.split("\n").filter((line) => line.includes("no space left on device (ENOSPC)"));
    expect(said[0]).toBe(`dsanet warn: cam: the recording failed (${output}: cannot write: no space left on device (ENOSPC)); trying again`);
    // Once an outage, however many attempts it took: a line when it begins, one when it ends. (A
    // trimmed segment may free room for a fragment more, and the next attempt records it: an
    // outage of its own.)
    expect(said.length).toBeLessThan(attempts());
    expect(log.match(/cam: the recording back after [\d.]+ s/g)).toHaveLength(said.length);
    const kept = new RegExp(`cam: ${output} keeps the (\\d+) frames written before the failure`).exec(log);
    // Cut back to its last whole fragment: every frame decodes, to the end.
    execFileSync("ffmpeg", ["-v", "error", "-xerror", "-i", output, "-f", "null", "-"]);
    expect(streamInfo(output, "v:0").pts.length).toBe(Number(kept?.[1]));
    // The attempts on a full disk left nothing; those that recorded, after it, are segments named by their start that play.
    const files = readdirSync(FULL).sort();
    expect(files.filter((name) => name.includes(".partial."))).toEqual([]);
    expect(files.at(-1)).toBe("recording.mp4");
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const name of files.slice(0, -1)) {
      expect(name).toMatch(/^recording-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ(-\d+)?\.mp4$/);
      execFileSync("ffmpeg", ["-v", "error", "-xerror", "-i", join(FULL, name), "-f", "null", "-"]);
    }
  });
});
