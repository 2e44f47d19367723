import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine/engine.js";
import { serve, type Serving } from "../../src/pipeline/serve.js";
import type { Detector } from "../../src/detector/detector.js";
import { startDetector } from "../../src/detector/start-detector.js";
import { PEDESTRIANS } from "../helpers/clips.js";
import { launchChromium, liveEngine, serveOptions } from "../helpers/live.js";
import { RtspServer, freePort } from "../helpers/rtsp.js";

let camera: RtspServer;
let engine: Engine;
let detector: Detector;
let serving: Serving;
let browser: Browser;

beforeAll(async () => {
  camera = new RtspServer(await freePort(), PEDESTRIANS);
  await camera.start();
  engine = await liveEngine();
  detector = await startDetector({ backend: "auto", classes: ["person"], minScore: 0.3, iou: 0.5, maxDetections: 50 });
  serving = await serve(
    serveOptions(engine, {
      sources: [{ name: "street", url: camera.url }],
      queue: 1,
      detect: { detector, every: 1, output: null, burnIn: false },
    }),
  );
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await serving?.close();
  await detector?.close();
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
