import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOnnxEngine } from "../../src/model/onnx-engine.js";
import type { Engine } from "../../src/model/engine.js";
import { serve, type Serving } from "../../src/pipeline/serve.js";
import { CenternetDetector } from "../../src/sinks/detector/centernet.js";
import { MODEL, PEDESTRIANS } from "../helpers/clips.js";
import { RtspServer, freePort } from "../helpers/rtsp.js";

let camera: RtspServer;
let engine: Engine;
let detector: CenternetDetector;
let serving: Serving;
let browser: Browser;

beforeAll(async () => {
  camera = new RtspServer(await freePort(), PEDESTRIANS);
  await camera.start();
  engine = await createOnnxEngine({ model: MODEL, scales: 3, threads: 1, provider: "cpu" });
  detector = await CenternetDetector.load({ backend: "auto", classes: ["person"], minScore: 0.3, iou: 0.5, maxDetections: 50 });
  serving = await serve({
    sources: [{ name: "street", url: camera.url }],
    engine,
    carryState: true,
    tile: null,
    overlap: 32,
    queue: 1,
    rtsp: { transport: "tcp", stallTimeoutMs: 3000, backoffMs: 200, maxBackoffMs: 1000 },
    viewer: { host: "127.0.0.1", port: 0, token: null, width: 640, quality: 70 },
    record: null,
    encode: { codec: "libx264", crf: 23, preset: "veryfast", lossless: false },
    detect: { detector, every: 1, output: null, burnIn: false },
  });
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
});

afterAll(async () => {
  await browser?.close();
  await serving?.stop();
  detector?.close();
  await engine?.close();
  await camera?.kill();
});

describe("viewer page with the detector", () => {
  it("draws the people found on the deblurred frames", async () => {
    const page = await browser.newPage();
    await page.goto(serving.url);
    const panel = page.locator('section[data-stream="street"]');
    await expect.poll(async () => Number((await panel.getAttribute("data-boxes")) ?? 0), { timeout: 90_000, interval: 500 }).toBeGreaterThan(0);
    await page.close();
  });
});
