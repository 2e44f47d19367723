import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { WORK, streamInfo } from "../helpers/clips.js";
import { lastHlsSegment, metric, outputMetric, servedPort, startCommand, type RunningCommand } from "../helpers/command.js";
import { processesWith } from "../helpers/processes.js";
import { RtspServer, cameraAndPublishServer, freePort, type Started } from "../helpers/rtsp.js";
import { until } from "../helpers/until.js";

const servers: Started = [];
afterAll(async () => {
  for (const server of servers) await server.kill();
});

/** Every frame of `path` decodes (ffmpeg stops at the first error), and how many there are. */
function playableFrames(path: string): number {
  execFileSync("ffmpeg", ["-v", "error", "-xerror", "-i", path, "-f", "null", "-"]);
  return streamInfo(path, "v:0").pts.length;
}

/** The one running ffmpeg of dsanet whose command line holds `text` (the test's RTSP server left out). */
function encoderWith(text: string): number | null {
  const pids = processesWith(text).filter((pid) => !processesWith("rtsp_flags").includes(pid) && processesWith("-i pipe:0").includes(pid));
  return pids.length === 1 ? (pids[0] ?? null) : null;
}

/** SIGKILL it, as the OOM killer would. */
function kill(pid: number): void {
  process.kill(pid, "SIGKILL");
}

async function health(port: number): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { status: res.status, text: await res.text() };
}

/** Files of a recording's folder: the finished segments, and the ones being written (hidden, `.partial.`). */
function segments(folder: string): { done: string[]; partial: string[] } {
  const names = readdirSync(folder).sort();
  return { done: names.filter((name) => !name.includes(".partial.")), partial: names.filter((name) => name.includes(".partial.")) };
}

/**
 * A config that makes an outage visible to /healthz: anything down for over 2 s counts,
 * and an output that failed waits 4 to 8 s (the backoff, jittered) before its next run.
 */
function slowRetries(): string {
  const path = join(WORK, "outputs-come-back.yaml");
  writeFileSync(path, "live:\n  stallTimeoutMs: 2000\n  backoffMs: 8000\n  maxBackoffMs: 8000\n");
  return path;
}

/** /healthz answers 503, naming each output, while they are down; then 200 once all are back. */
async function downThenUp(serve: RunningCommand, port: number, outputs: readonly string[]): Promise<void> {
  const down = await until(async () => {
    const answer = await health(port);
    return answer.status === 503 && outputs.every((output) => answer.text.includes(`front: ${output} down`)) ? answer.text : null;
  }, 30_000, () => `/healthz 503 for ${outputs.join(", ")}:\n${serve.stderr()}`);
  for (const output of outputs) {
    expect(down).toMatch(new RegExp(`^front: ${output} down for [\\d.]+ s$`, "m"));
    await until(async () => (await outputMetric(port, "dsanet_output_up", "front", output)) === 1, 60_000, () => `${output} up again:\n${serve.stderr()}`);
  }
  await until(async () => (await health(port)).status === 200, 30_000, `/healthz 200 after ${outputs.join(", ")}`);
}

describe("serve: every output comes back when its encoder dies", () => {
  it("--record, --hls and --publish: each ffmpeg SIGKILLed is started again; the recording goes on in a new segment, both segments play; /healthz says 503, then 200", { timeout: 400_000 }, async () => {
    const { camera, listener } = await cameraAndPublishServer(servers);
    const folder = join(WORK, "come-back");
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { recursive: true });
    const recording = join(folder, "rec.mp4");
    const serve = startCommand([
      "serve", `front=${camera.url}`, "--port", "0", "--model", "lite", "--threads", "1", "--config", slowRetries(),
      "--record", recording, "--hls", "--publish", `rtsp://127.0.0.1:${listener.port}/{stream}-deblurred`,
    ]);
    try {
      const port = await servedPort(serve);
      await until(async () => listener.times.length >= 10 && (await lastHlsSegment(port, "front")) >= 1, 120_000, () => `RTSP out and HLS:\n${serve.stderr()}`);
      expect((await health(port)).status).toBe(200);

      // The recording: its encoder has written a fragment, then dies. What it wrote stays in rec.mp4,
      // and the recording goes on in a segment named by its start time.
      await until(() => segments(folder).partial.some((name) => statSync(join(folder, name)).size > 4096), 120_000, "the recording's first fragments on disk");
      const recorder = await until(() => encoderWith(join(folder, ".rec.")), 60_000, () => `the recording's encoder:\n${serve.stderr()}`);
      kill(recorder);
      await downThenUp(serve, port, ["recording"]);
      expect(segments(folder).done).toEqual(["rec.mp4"]);
      await until(() => segments(folder).partial.some((name) => /^\.rec-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.\d+\.partial\.mp4$/.test(name) && statSync(join(folder, name)).size > 4096), 120_000, () => `frames in the next segment:\n${serve.stderr()}`);

      // HLS and RTSP out share one encoder (sharedEncoder): both go down with it, and each comes back,
      // HLS numbered on past the dead encoder's last segment, the RTSP server receiving again.
      const lastBefore = await lastHlsSegment(port, "front");
      const encoder = await until(() => encoderWith("index.m3u8"), 60_000, () => `the HLS and RTSP out encoder:\n${serve.stderr()}`);
      // One encoder for both, unless it was replaced between the two reads: what serve said tells.
      expect(encoderWith("front-deblurred"), serve.stderr()).toBe(encoder);
      kill(encoder);
      await until(() => !listener.listening, 30_000, "the RTSP server's session to end");
      listener.start();
      await downThenUp(serve, port, ["hls", "publish"]);
      await until(async () => (await lastHlsSegment(port, "front")) > lastBefore, 60_000, () => `HLS past segment ${lastBefore}:\n${serve.stderr()}`);
      await until(() => listener.times.length >= 10, 60_000, () => `frames at the RTSP server again:\n${serve.stderr()}`);

      for (const output of ["recording", "hls", "publish"]) {
        expect(await outputMetric(port, "dsanet_output_failures_total", "front", output), output).toBe(1);
      }
      expect(await metric(port, "dsanet_stream_up", "front")).toBe(1);
      serve.child.kill("SIGINT");
      expect(await serve.exit(30_000), serve.stderr()).toBe(0);
    } finally {
      serve.child.kill("SIGKILL");
    }
    const log = serve.stderr();
    // Each failure said once, with the way its ffmpeg ended.
    for (const title of ["the recording", "HLS", "publishing to rtsp://127\\.0\\.0\\.1:\\d+/front-deblurred"]) {
      expect(log.match(new RegExp(`front: ${title} failed \\(ffmpeg was killed by SIGKILL\\); trying again`, "g")), title).toHaveLength(1);
      expect(log.match(new RegExp(`front: ${title} back after [\\d.]+ s`, "g")), title).toHaveLength(1);
    }
    // Both segments play, and the first kept what its encoder had written.
    const { done, partial } = segments(folder);
    expect(partial).toEqual([]);
    expect(done).toHaveLength(2);
    const kept = /front: .*rec\.mp4 keeps the (\d+) frames written before the failure/.exec(log);
    expect(playableFrames(recording)).toBe(Number(kept?.[1]));
    expect(playableFrames(join(folder, done[1] ?? ""))).toBeGreaterThan(0);
  });

  it("--record-segment cuts the recording by time, each segment named by its start, each playable", { timeout: 300_000 }, async () => {
    const camera = new RtspServer(await freePort(), "160x96@10");
    servers.push(camera);
    await camera.start();
    const folder = join(WORK, "segments");
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { recursive: true });
    const serve = startCommand(["serve", `front=${camera.url}`, "--port", "0", "--model", "lite", "--threads", "1", "--record", join(folder, "rec.mp4"), "--record-segment", "3s"]);
    let framesOut = 0;
    try {
      const port = await servedPort(serve);
      await until(() => segments(folder).done.length >= 2, 120_000, () => `two finished segments:\n${serve.stderr()}`);
      framesOut = await metric(port, "dsanet_frames_out_total", "front");
      serve.child.kill("SIGINT");
      expect(await serve.exit(30_000), serve.stderr()).toBe(0);
    } finally {
      serve.child.kill("SIGKILL");
    }
    const { done, partial } = segments(folder);
    expect(partial).toEqual([]);
    expect(done.length).toBeGreaterThanOrEqual(3);
    for (const name of done) expect(name).toMatch(/^rec-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ(-\d+)?\.mp4$/);
    // Every segment plays; together they hold the stream (a stop may lose the encoder's queue, as a single file does).
    const frames = done.map((name) => playableFrames(join(folder, name)));
    for (const count of frames) expect(count).toBeGreaterThan(0);
    expect(frames.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(framesOut - 64);
  });
});
