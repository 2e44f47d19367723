import { chromium, type Browser } from "playwright-core";
import { loadEngineInWorker } from "../../src/engine/engine-in-worker.js";
import type { Engine } from "../../src/engine/engine.js";
import type { ServeOptions } from "../../src/pipeline/serve.js";
import { MODEL } from "./clips.js";
import { DEBLUR_DEFAULTS } from "./deblur-options.js";

/** The shipped model on onnxruntime with one thread, in its worker thread as the CLI runs it. */
export function liveEngine(): Promise<Engine> {
  return loadEngineInWorker({ type: "onnx", model: MODEL, scales: 3, stages: null, precision: "fp32", threads: 1, provider: "cpu", backend: "auto" });
}

/** serve() options for tests on loopback: quick reconnects, small JPEGs, no recording, nothing published. */
export function serveOptions(engine: Engine, options: Pick<ServeOptions, "sources"> & Partial<ServeOptions>): ServeOptions {
  return {
    engine,
    ...DEBLUR_DEFAULTS,
    queue: 2,
    rtsp: { transport: "tcp", stallTimeoutMs: 3000, backoffMs: 200, maxBackoffMs: 1000 },
    viewer: { host: "127.0.0.1", port: 0, token: null, allowedHosts: [], allowedOrigins: [], width: 640, quality: 70, hls: false },
    record: null,
    recordSegmentMs: null,
    publish: null,
    encode: { codec: "libx264", crf: 23, preset: "veryfast", lossless: false },
    ...options,
  };
}

/** Debian's Chromium, headless, with nothing reaching out to the network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
}
