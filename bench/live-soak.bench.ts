/**
 * Soak: a live RTSP stream (GStreamer's test pattern on loopback) served for minutes with a
 * viewer attached, printing memory and latency percentiles over time. The default camera,
 * 640x360 at 25 fps, is faster than CPU inference, so frames must be dropped: memory should
 * stay flat and latency bounded, whatever the run's length.
 *
 *   npm run bench:soak [-- --minutes 5 --every 30 --camera 160x96@10]
 */
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { loadConfig } from "../src/config/load.js";
import { loadEngineInWorker } from "../src/engine/engine-in-worker.js";
import { serve } from "../src/pipeline/serve.js";
import { RtspServer, freePort } from "../test/helpers/rtsp.js";

const { values } = parseArgs({ options: { minutes: { type: "string", default: "3" }, every: { type: "string", default: "20" }, camera: { type: "string", default: "640x360@25" } } });
const minutes = Number(values.minutes);
const every = Number(values.every) * 1000;

const camera = new RtspServer(await freePort(), values.camera);
await camera.start();
const config = await loadConfig(null);
const engine = await loadEngineInWorker(config.engine);
const serving = await serve({
  sources: [{ name: "soak", url: camera.url }],
  engine,
  ...config.deblur,
  queue: config.live.queue,
  rtsp: { transport: "tcp", stallTimeoutMs: 5000, backoffMs: 500, maxBackoffMs: 5000 },
  viewer: { ...config.viewer, port: 0 },
  record: null,
  recordSegmentMs: null,
  publish: null,
  encode: config.output,
});
const viewer = new WebSocket(serving.url.replace("http", "ws") + "socket");
let viewed = 0;
viewer.on("message", () => viewed++);

console.log(`soak: ${minutes} min, camera ${values.camera}, engine ${engine.name}, queue ${config.live.queue}, one viewer`);
console.log("| t (s) | RSS MiB | heap MiB | frames in | out | dropped | viewer msgs | latency p50 ms | p95 | p99 |");
console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
const started = Date.now();
while (Date.now() - started < minutes * 60_000) {
  await new Promise((resolve) => setTimeout(resolve, every));
  const m = serving.metrics.stream("soak");
  const mem = process.memoryUsage();
  console.log(
    `| ${Math.round((Date.now() - started) / 1000)} | ${(mem.rss / 2 ** 20).toFixed(0)} | ${(mem.heapUsed / 2 ** 20).toFixed(0)} | ${m.counts.framesIn} | ${m.counts.framesOut} | ${m.counts.framesDropped} | ${viewed} | ` +
      `${m.latencyPercentile(50).toFixed(0)} | ${m.latencyPercentile(95).toFixed(0)} | ${m.latencyPercentile(99).toFixed(0)} |`,
  );
}
viewer.close();
await serving.close();
await engine.close();
await camera.kill();
