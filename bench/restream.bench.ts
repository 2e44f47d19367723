/**
 * End-to-end latency of the deblurred stream where other software reads it: camera -> dsanet
 * serve -> RTSP out (to a server that takes publishers) and -> HLS played in Chromium, and the
 * share of frames each keeps under load. The camera (GStreamer's RTSP server) shows black and
 * turns white, then black again, each time the bench signals it; each output's latency is the
 * time from the signal to the first frame of the new colour it shows, on this machine's clock.
 *
 *   npx tsx bench/restream.bench.ts [--model lite] [--size 640x360] [--fps 15] [--flips 6]
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { metric, outputMetric, servedPort, startCommand } from "../test/helpers/command.js";
import { launchChromium } from "../test/helpers/live.js";
import { RtspServer, freePort } from "../test/helpers/rtsp.js";
import { until } from "../test/helpers/until.js";

const { values } = parseArgs({ options: { model: { type: "string", default: "lite" }, size: { type: "string", default: "640x360" }, fps: { type: "string", default: "15" }, flips: { type: "string", default: "6" } } });
const FLIP_EVERY_MS = 10_000;
const [width, height] = (values.size ?? "").split("x").map(Number);

/** Mean brightness (0-255) of each frame an output shows, and when it showed it. */
type Seen = { atMs: number; brightness: number }[];

/**
 * An RTSP server that takes dsanet's stream (ffmpeg's server mode) and reports each frame's
 * brightness as it arrives, decoding without buffering ahead (as a low-latency reader would).
 */
function rtspReceiver(port: number, path: string, seen: Seen): { stop(): void } {
  const child = spawn("ffmpeg", ["-hide_banner", "-nostdin", "-v", "error", "-fflags", "nobuffer", "-flags", "low_delay", "-rtsp_flags", "listen", "-i", `rtsp://127.0.0.1:${port}/${path}`, "-vf", "scale=32:18", "-vsync", "passthrough", "-pix_fmt", "gray", "-f", "rawvideo", "pipe:1"], { stdio: ["ignore", "pipe", "inherit"] });
  let pending = Buffer.alloc(0);
  child.stdout.on("data", (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 32 * 18) {
      const frame = pending.subarray(0, 32 * 18);
      pending = pending.subarray(32 * 18);
      seen.push({ atMs: Date.now(), brightness: frame.reduce((a, b) => a + b, 0) / frame.length });
    }
  });
  return { stop: () => child.kill("SIGKILL") };
}

/** For each flip, ms until `seen` first shows its colour (null when it never did before the next flip). */
function latencies(flips: readonly { atMs: number; white: boolean }[], seen: Seen): (number | null)[] {
  return flips.map((flip, i) => {
    const next = flips[i + 1]?.atMs ?? Infinity;
    const hit = seen.find((s) => s.atMs > flip.atMs && s.atMs < next && (flip.white ? s.brightness > 128 : s.brightness < 128));
    return hit ? hit.atMs - flip.atMs : null;
  });
}

const summary = (xs: readonly (number | null)[]) => {
  const got = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  return got.length === 0 ? "none seen" : `median ${got[Math.floor(got.length / 2)]} ms, max ${got.at(-1)} ms (${got.length} of ${xs.length} flips seen)`;
};

const camera = new RtspServer(await freePort(), `flash:${width}x${height}@${values.fps}`);
await camera.start();
const receiverPort = await freePort();
const viaRtsp: Seen = [];
const receiver = rtspReceiver(receiverPort, "cam-deblurred", viaRtsp);
const serve = startCommand(["serve", `cam=${camera.url}`, "--port", "0", "--model", values.model ?? "lite", "--publish", `rtsp://127.0.0.1:${receiverPort}/{stream}-deblurred`, "--hls"]);
const browser = await launchChromium();
try {
  const port = await servedPort(serve);
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.locator('section[data-stream="cam"][data-hls="playing"]').waitFor({ timeout: 120_000 });
  // Each frame the page's video shows, as the browser presents it. (Code as text: tsx would
  // wrap a function's inner names in a helper the page does not have.)
  await page.evaluate(`(() => {
    const video = document.querySelector('section[data-stream="cam"] video');
    const canvas = Object.assign(document.createElement("canvas"), { width: 32, height: 18 });
    const context = canvas.getContext("2d", { willReadFrequently: true });
    window.seen = [];
    const onFrame = () => {
      context.drawImage(video, 0, 0, 32, 18);
      const { data } = context.getImageData(0, 0, 32, 18);
      let sum = 0;
      for (let i = 0; i < data.length; i += 4) sum += data[i];
      window.seen.push({ atMs: Date.now(), brightness: sum / (data.length / 4) });
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  })()`);
  await until(() => viaRtsp.length > 30, 60_000, "frames at the RTSP server");
  const before = { in: await metric(port, "dsanet_frames_in_total", "cam"), out: await metric(port, "dsanet_frames_out_total", "cam"), rtsp: viaRtsp.length };
  const started = Date.now();
  const flips: { atMs: number; white: boolean }[] = [];
  for (let i = 0; i < Number(values.flips); i++) {
    flips.push({ atMs: Date.now(), white: i % 2 === 0 });
    camera.signal("SIGUSR1");
    await new Promise((resolve) => setTimeout(resolve, FLIP_EVERY_MS));
  }
  const seconds = (Date.now() - started) / 1000;
  const viaHls = (await page.evaluate("window.seen")) as Seen;
  const counts = {
    in: (await metric(port, "dsanet_frames_in_total", "cam")) - before.in,
    out: (await metric(port, "dsanet_frames_out_total", "cam")) - before.out,
    rtsp: viaRtsp.length - before.rtsp,
    publishDropped: await outputMetric(port, "dsanet_output_dropped_total", "cam", "publish"),
    hlsDropped: await outputMetric(port, "dsanet_output_dropped_total", "cam", "hls"),
  };
  const cameraFrames = seconds * Number(values.fps);
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const histogram = (suffix: string) => Number(new RegExp(`dsanet_latency_seconds_${suffix}\\{stream="cam"\\} ([\\d.e+-]+)`).exec(text)?.[1] ?? NaN);
  console.log(`${values.model} at ${values.size}, camera ${values.fps} fps, ${flips.length} flips over ${seconds.toFixed(0)} s`);
  console.log(`frame arrival -> deblurred, inside dsanet (dsanet_latency_seconds): mean ${Math.round((1000 * histogram("sum")) / histogram("count"))} ms`);
  console.log(`camera -> RTSP out: ${summary(latencies(flips, viaRtsp))}`);
  console.log(`camera -> HLS in Chromium: ${summary(latencies(flips, viaHls))}`);
  console.log(
    `frames: camera ~${Math.round(cameraFrames)}, received ${counts.in}, deblurred ${counts.out} (${((100 * counts.out) / counts.in).toFixed(0)}% of received), ` +
      `at the RTSP server ${counts.rtsp} (${((100 * counts.rtsp) / counts.out).toFixed(0)}% of deblurred; publisher drops in all ${counts.publishDropped}), HLS encoder drops ${counts.hlsDropped}`,
  );
  await page.screenshot({ path: join("out", "restream.png") });
} finally {
  await browser.close();
  serve.child.kill("SIGTERM");
  await serve.exit(10_000);
  receiver.stop();
  await camera.kill();
}
