import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchingEngine } from "../../src/model/batching-engine.js";
import type { Engine } from "../../src/model/engine.js";
import { serve, type Serving } from "../../src/pipeline/serve.js";
import { WORK } from "../helpers/clips.js";
import { launchChromium, liveEngine, serveOptions } from "../helpers/live.js";
import { RtspServer, freePort } from "../helpers/rtsp.js";

const TOKEN = "browser-test-token";
let camera: RtspServer;
let engine: Engine;
let serving: Serving;
let browser: Browser;

beforeAll(async () => {
  camera = new RtspServer(await freePort());
  await camera.start();
  // As `dsanet serve` runs several cameras: their frames share inferences.
  engine = batchingEngine(await liveEngine(), { maxRows: 2, waitMs: 20 });
  serving = await serve(
    serveOptions(engine, {
      // Two streams from one server: each has its own state, queue, metrics and panel.
      sources: [
        { name: "cam", url: camera.url },
        { name: "cam2", url: camera.url },
      ],
      viewer: { host: "127.0.0.1", port: 0, token: TOKEN, allowedHosts: [], allowedOrigins: [], width: 320, quality: 70 },
    }),
  );
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await serving?.close();
  await engine?.close();
  await camera?.kill();
});

describe("viewer page in a real browser", () => {
  it("shows the stream's frames updating, with its stats", async () => {
    const page = await browser.newPage();
    await page.goto(`${serving.url}?token=${TOKEN}`);
    const panel = page.locator('section[data-stream="cam"]');
    await expect.poll(async () => Number((await panel.getAttribute("data-frames")) ?? 0), { timeout: 60_000 }).toBeGreaterThanOrEqual(3);
    const seen = Number(await panel.getAttribute("data-frames"));
    await expect.poll(async () => Number(await panel.getAttribute("data-frames")), { timeout: 30_000 }).toBeGreaterThan(seen);
    await expect.poll(async () => panel.locator(".stats").textContent()).toMatch(/fps · latency \d+ ms · dropped \d+ · reconnects 0/);
    const size = await panel.locator("canvas").evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
    expect(size).toEqual([160, 96]);
    const second = page.locator('section[data-stream="cam2"]');
    await expect.poll(async () => Number((await second.getAttribute("data-frames")) ?? 0), { timeout: 30_000 }).toBeGreaterThanOrEqual(3);
    expect(serving.metrics.stream("cam2").framesOut).toBeGreaterThan(0);
    await page.screenshot({ path: `${WORK}/viewer.png` });
    await page.close();
  });

  it("refuses the page without the token", async () => {
    const page = await browser.newPage();
    const response = await page.goto(serving.url);
    expect(response?.status()).toBe(401);
    await page.close();
  });
});
