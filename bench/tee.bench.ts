/**
 * serve's CPU with --hls and --publish on one camera: one encoder for both (this checkout, the
 * tee muxer) against two (a dsanet built before it, `--two-encoders PATH/bin/dsanet`), side by
 * side in one run, their turns interleaved (one, two, one, two...) so that a busy machine weighs
 * on both alike. Each turn serves its own camera (a GStreamer test pattern) to an RTSP server
 * that listens again after each session, waits until both outputs are up, then counts the CPU
 * seconds (user + system) of dsanet and its children (the camera's decoder, the encoders), read
 * from /proc, over `--seconds` of video. It prints CPU seconds per minute of video, the encoders'
 * part of it, and then what an RTSP server's outage costs HLS with one encoder: the server is
 * killed for `--outage` seconds, and the HLS restarts (discontinuities) and segments are counted.
 *
 *   git archive <commit before the tee> | tar -x -C /tmp/two && ln -s $PWD/node_modules /tmp/two/ && (cd /tmp/two && npx tsc -p tsconfig.build.json)
 *   npx tsx bench/tee.bench.ts --two-encoders /tmp/two/bin/dsanet [--size 320x180@10] [--seconds 60] [--turns 2] [--outage 30]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { DSANET, lastHlsSegment, outputMetric } from "../test/helpers/command.js";
import { ffmpegsOf } from "../test/helpers/processes.js";
import { RtspServer, freePort } from "../test/helpers/rtsp.js";
import { until } from "../test/helpers/until.js";

const { values } = parseArgs({
  options: {
    "two-encoders": { type: "string" },
    size: { type: "string", default: "320x180@10" },
    seconds: { type: "string", default: "60" },
    turns: { type: "string", default: "2" },
    outage: { type: "string", default: "30" },
  },
});
const twoEncoders = values["two-encoders"];
if (!twoEncoders) throw new Error("--two-encoders: the bin/dsanet of a build before the tee muxer (see the comment at the top)");
const SECONDS = Number(values.seconds);
/** Clock ticks per second in /proc/<pid>/stat: 100 on Linux wherever it runs. */
const TICKS = 100;

/** CPU seconds (user + system) of `pid` and its reaped children, or null once it has gone. */
function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // After "pid (name) ": state is field 3; utime, stime, cutime, cstime are fields 14-17.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) / TICKS;
  } catch {
    return null;
  }
}

/** CPU seconds of dsanet and all its children so far (its ffmpegs: the living ones read directly, the gone ones in dsanet's cutime), and of its encoders. */
function treeCpu(pid: number): { all: number; encoders: number } {
  const children = ffmpegsOf(pid).map((child) => ({ ...child, cpu: cpuSeconds(child.pid) ?? 0 }));
  return {
    all: (cpuSeconds(pid) ?? 0) + children.reduce((sum, child) => sum + child.cpu, 0),
    encoders: children.filter((child) => child.argv.includes("-i pipe:0")).reduce((sum, child) => sum + child.cpu, 0),
  };
}

/** An RTSP server for `url` that listens again after each session, as MediaMTX would; `kill` it and `start` it again at will. */
function publishServer(url: string): { start(): void; kill(): void } {
  let child: ChildProcess | null = null;
  let wanted = false;
  const listen = () => {
    child = spawn("ffmpeg", ["-hide_banner", "-nostdin", "-v", "error", "-rtsp_flags", "listen", "-i", url, "-f", "null", "-"], { stdio: "ignore" });
    child.once("exit", () => wanted && listen());
  };
  return {
    start: () => ((wanted = true), listen()),
    kill: () => ((wanted = false), child?.kill("SIGKILL")),
  };
}

interface Serving {
  readonly pid: number;
  readonly port: number;
  readonly server: ReturnType<typeof publishServer>;
  stderr(): string;
  stop(): Promise<void>;
}

async function startServing(dsanet: string): Promise<Serving> {
  const camera = new RtspServer(await freePort(), values.size);
  await camera.start();
  const publishPort = await freePort();
  const server = publishServer(`rtsp://127.0.0.1:${publishPort}/cam-deblurred`);
  server.start();
  const args = ["serve", `cam=${camera.url}`, "--port", "0", "--model", "lite", "--threads", "1", "--hls", "--publish", `rtsp://127.0.0.1:${publishPort}/{stream}-deblurred`];
  const child = spawn(dsanet, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const port = await until(() => Number(/serving \d+ stream\(s\) at http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr)?.[1] ?? 0) || null, 60_000, () => `serving:\n${stderr}`);
  await until(async () => (await outputMetric(port, "dsanet_output_up", "cam", "hls")) === 1 && (await outputMetric(port, "dsanet_output_up", "cam", "publish")) === 1, 120_000, () => `both outputs up:\n${stderr}`);
  return {
    pid: child.pid ?? 0,
    port,
    server,
    stderr: () => stderr,
    stop: async () => {
      child.kill("SIGINT");
      await until(() => child.exitCode !== null || child.signalCode !== null, 30_000, "dsanet to stop");
      server.kill();
      await camera.kill();
    },
  };
}

/** CPU seconds per minute of video over `SECONDS` of it, in all and for the encoders. */
async function measure(dsanet: string): Promise<{ all: number; encoders: number }> {
  const serving = await startServing(dsanet);
  try {
    // x264's start and the first segments aside.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const before = treeCpu(serving.pid);
    const startedAt = performance.now();
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    const after = treeCpu(serving.pid);
    const minutes = (performance.now() - startedAt) / 60_000;
    return { all: (after.all - before.all) / minutes, encoders: (after.encoders - before.encoders) / minutes };
  } finally {
    await serving.stop();
  }
}

const arms = [
  { name: "one encoder (tee)", dsanet: DSANET, results: [] as { all: number; encoders: number }[] },
  { name: "two encoders", dsanet: twoEncoders, results: [] as { all: number; encoders: number }[] },
];
const cpu = cpus()[0]?.model ?? "unknown CPU";
console.log(`${cpu}, ${cpus().length} cores; camera ${values.size}, lite model on 1 thread; ${SECONDS} s of video a turn`);
for (let turn = 0; turn < Number(values.turns); turn++) {
  for (const arm of arms) {
    const result = await measure(arm.dsanet);
    arm.results.push(result);
    console.log(`  turn ${turn + 1}, ${arm.name}: ${result.all.toFixed(2)} CPU s per minute of video, encoders ${result.encoders.toFixed(2)}`);
  }
}
const mean = (numbers: readonly number[]) => numbers.reduce((a, b) => a + b, 0) / numbers.length;
for (const arm of arms) {
  console.log(`${arm.name}: ${mean(arm.results.map((r) => r.all)).toFixed(2)} CPU s per minute of video (encoders ${mean(arm.results.map((r) => r.encoders)).toFixed(2)})`);
}

// What a lost RTSP server costs HLS with one encoder: its leg's attempts restart the encoder at the backoff's pace.
const serving = await startServing(DSANET);
try {
  const outageMs = Number(values.outage) * 1000;
  const first = await lastHlsSegment(serving.port, "cam");
  const encoders = new Set<number>();
  const watch = setInterval(() => ffmpegsOf(serving.pid).forEach((child) => child.argv.includes("-i pipe:0") && encoders.add(child.pid)), 100);
  serving.server.kill();
  const killedAt = performance.now();
  await new Promise((resolve) => setTimeout(resolve, outageMs));
  const during = await lastHlsSegment(serving.port, "cam");
  serving.server.start();
  await until(async () => (await outputMetric(serving.port, "dsanet_output_up", "cam", "publish")) === 1, 120_000, () => `RTSP out back:\n${serving.stderr()}`);
  clearInterval(watch);
  const backAfterS = (performance.now() - killedAt - outageMs) / 1000;
  const hlsFailures = await outputMetric(serving.port, "dsanet_output_failures_total", "cam", "hls");
  console.log(`RTSP server down ${values.outage} s: HLS wrote ${during - first} segments meanwhile (one a second when nothing is lost), its failures ${hlsFailures}; ${encoders.size} encoders ran (each a restart of HLS, a discontinuity); RTSP out back ${backAfterS.toFixed(1)} s after its server`);
} finally {
  await serving.stop();
}
