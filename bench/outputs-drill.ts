/**
 * The drill of issue 37, as an operator meets it: `serve` with one camera, --record, --hls and
 * --publish (to an RTSP server that takes each new session), then each output's ffmpeg is
 * killed (SIGKILL, as the OOM killer would), one after the other: the recording's, then the one
 * HLS and RTSP out share. It prints, for each output,
 * the seconds until it is back (the recording: frames on disk in its next segment; HLS: a
 * segment past the last one listed; RTSP out: frames at the server again), what /healthz answered meanwhile, and
 * at the end the recording's files with their frames against the frames deblurred.
 *
 *   npx tsx bench/outputs-drill.ts [--config file.yaml]
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { WORK, streamInfo } from "../test/helpers/clips.js";
import { metric, servedPort, startCommand } from "../test/helpers/command.js";
import { processesWith } from "../test/helpers/processes.js";
import { RtspServer, freePort } from "../test/helpers/rtsp.js";
import { until } from "../test/helpers/until.js";

const BACK_WITHIN_MS = 30_000;
const { values } = parseArgs({ options: { config: { type: "string" } } });

/** An RTSP server that takes a publisher, counts its sessions and the frames of the present one, and listens again after each session. */
function listener(url: string): { sessions: () => number; frames: () => number; stop: () => void } {
  let frames = 0;
  let sessions = 0;
  let child: ChildProcess | null = null;
  let stopped = false;
  const listen = () => {
    sessions++;
    frames = 0;
    child = spawn("ffmpeg", ["-hide_banner", "-nostdin", "-v", "info", "-rtsp_flags", "listen", "-i", url, "-vf", "showinfo", "-f", "null", "-"], { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr?.on("data", (chunk: Buffer) => (frames += chunk.toString().match(/\bn:\s*\d+\s/g)?.length ?? 0));
    child.once("exit", () => !stopped && listen());
  };
  listen();
  return { sessions: () => sessions, frames: () => frames, stop: () => ((stopped = true), child?.kill("SIGKILL")) };
}

const camera = new RtspServer(await freePort(), "160x96@10");
await camera.start();
const publishPort = await freePort();
const rtspOut = listener(`rtsp://127.0.0.1:${publishPort}/cam-deblurred`);
const folder = join(WORK, "drill");
rmSync(folder, { recursive: true, force: true });
mkdirSync(folder, { recursive: true });
const serve = startCommand([
  "serve", `cam=${camera.url}`, "--port", "0", "--model", "lite", "--threads", "1",
  "--record", join(folder, "rec.mp4"), "--hls", "--publish", `rtsp://127.0.0.1:${publishPort}/{stream}-deblurred`,
  ...(values.config ? ["--config", values.config] : []),
]);
const port = await servedPort(serve);

/** /healthz's answers, each change once, with the seconds since the drill began. */
const started = Date.now();
const health: string[] = [];
let lastCode = 0;
const polling = setInterval(() => {
  void fetch(`http://127.0.0.1:${port}/healthz`).then(async (res) => {
    if (res.status === lastCode) return;
    lastCode = res.status;
    health.push(`${((Date.now() - started) / 1000).toFixed(1)} s: ${res.status} ${(await res.text()).trim()}`);
  }, () => undefined);
}, 100);

/** The HLS playlist's last media sequence number (its first plus the segments listed), or -1. */
async function hlsSequence(): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/hls/cam/index.m3u8`);
  if (!res.ok) return -1;
  const text = await res.text();
  const first = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
  return first + (text.match(/^#EXTINF/gm)?.length ?? 0) - 1;
}

// Ten seconds in: the encoders have written their first seconds.
await until(async () => (await metric(port, "dsanet_frames_out_total", "cam")) >= 100, 120_000, () => `100 frames:\n${serve.stderr()}`);
await until(async () => rtspOut.frames() >= 20 && (await hlsSequence()) >= 2, 60_000, "the RTSP server and HLS");

/** The dsanet ffmpegs whose command line holds `text` (the RTSP server's own left out). */
const encoders = (text: string) => processesWith(text).filter((pid) => !processesWith("rtsp_flags").includes(pid));

/** Each output and how to tell it is back. */
const recording = { name: "recording", mark: async () => readdirSync(folder).filter((name) => name.startsWith(".rec-") && statSync(join(folder, name)).size > 4096).length };
const hls = { name: "hls", mark: hlsSequence };
// A new session (the killed one ended the last) that has received frames.
const publish = { name: "publish", mark: async () => (rtspOut.frames() > 0 ? rtspOut.sessions() : 0) };
/** Each encoder (its command line) and the outputs it encodes: HLS and RTSP out share one. */
const encoderOf: { encoder: string; outputs: (typeof hls)[] }[] = [
  { encoder: ".rec", outputs: [recording] },
  { encoder: "index.m3u8", outputs: [hls, publish] },
];
for (const { encoder, outputs } of encoderOf) {
  const [pid] = encoders(encoder);
  if (pid === undefined) throw new Error(`no encoder for ${outputs.map((output) => output.name).join(" and ")}`);
  const outAtKill = await metric(port, "dsanet_frames_out_total", "cam");
  const before = await Promise.all(outputs.map((output) => output.mark()));
  process.kill(pid, "SIGKILL");
  const killedAt = Date.now();
  await Promise.all(
    outputs.map(async (output, i) => {
      const back = await until(async () => ((await output.mark()) > (before[i] ?? 0) ? Date.now() : null), BACK_WITHIN_MS, output.name).catch(() => null);
      const outBack = await metric(port, "dsanet_frames_out_total", "cam");
      console.log(`${output.name}: ${back === null ? "not back within 30 s" : `back after ${((back - killedAt) / 1000).toFixed(1)} s`}, ${outBack - outAtKill} frames deblurred meanwhile`);
    }),
  );
}
await new Promise((resolve) => setTimeout(resolve, 5000));
const deblurred = await metric(port, "dsanet_frames_out_total", "cam");
serve.child.kill("SIGINT");
console.log(`serve exited ${await serve.exit(30_000)}`);
clearInterval(polling);
rtspOut.stop();
await camera.kill();
let recorded = 0;
for (const name of readdirSync(folder).sort()) {
  const path = join(folder, name);
  let frames = 0;
  let plays = "plays";
  try {
    execFileSync("ffmpeg", ["-v", "error", "-xerror", "-i", path, "-f", "null", "-"]);
    frames = streamInfo(path, "v:0").pts.length;
  } catch {
    plays = "does not play";
  }
  recorded += frames;
  console.log(`  ${name}: ${frames} frames, ${plays}`);
}
console.log(`recording: ${recorded} of ${deblurred} deblurred frames kept (${deblurred - recorded} lost)`);
console.log(`/healthz:\n  ${health.join("\n  ")}`);
console.log(serve.stderr().split("\n").filter((line) => /warn|error/.test(line)).join("\n"));
