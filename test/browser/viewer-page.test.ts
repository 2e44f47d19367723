import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchingEngine } from "../../src/engine/batching-engine.js";
import type { Engine } from "../../src/engine/engine.js";
import { serve, type Serving } from "../../src/pipeline/serve.js";
import { WORK } from "../helpers/clips.js";
import { launchChromium, liveEngine, serveOptions } from "../helpers/live.js";
import { RtspServer, freePort } from "../helpers/rtsp.js";
import { until } from "../helpers/until.js";

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
      viewer: { host: "127.0.0.1", port: 0, token: TOKEN, allowedHosts: [], allowedOrigins: [], width: 320, quality: 70, hls: true },
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
    expect(serving.metrics.stream("cam2").counts.framesOut).toBeGreaterThan(0);
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

describe("the deblurred stream as HLS", () => {
  it("is a live playlist of fMP4 segments behind the token, every reference carrying it", async () => {
    const playlist = `${serving.url}hls/cam/index.m3u8`;
    const text = await until(async () => {
      const response = await fetch(`${playlist}?token=${TOKEN}`);
      return response.ok ? response.text() : null;
    }, 60_000, "the first HLS segment");
    expect(text).toMatch(/^#EXTM3U/);
    expect(text).toContain(`#EXT-X-MAP:URI="init.mp4?token=${TOKEN}"`);
    expect(text).toMatch(new RegExp(`^segment\\d+\\.m4s\\?token=${TOKEN}$`, "m"));
    expect(text).not.toContain("#EXT-X-ENDLIST");
    const segment = /^(segment\d+\.m4s\?token=\S+)$/m.exec(text)?.[1];
    const bytes = await (await fetch(`${serving.url}hls/cam/${segment}`)).arrayBuffer();
    expect(bytes.byteLength).toBeGreaterThan(100);
    // What another player (VLC, an NVR: ffmpeg inside) makes of the URL, token and all; not
    // execFileSync, which would stop this process's server from answering it.
    const probed = await promisify(execFile)("ffprobe", ["-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", `${playlist}?token=${TOKEN}`], { timeout: 60_000 });
    expect(probed.stdout).toMatch(/^h264,160,96$/m);
    expect((await fetch(playlist)).status).toBe(401);
    expect((await fetch(`${serving.url}hls/cam/..%2F..%2Fetc%2Fpasswd?token=${TOKEN}`)).status).toBe(404);
  });

  it("plays in the page, in Chromium, under the slider's panel", async () => {
    const page = await browser.newPage();
    await page.goto(`${serving.url}?token=${TOKEN}`);
    const panel = page.locator('section[data-stream="cam"]');
    await expect.poll(async () => panel.getAttribute("data-hls"), { timeout: 90_000 }).toBe("playing");
    const video = panel.locator("video");
    // The camera's ball moves: two moments of the video differ, and the ball is in them (bright pixels on black).
    const sample = () =>
      video.evaluate((v: HTMLVideoElement) => {
        const canvas = document.createElement("canvas");
        [canvas.width, canvas.height] = [v.videoWidth, v.videoHeight];
        const context = canvas.getContext("2d") as CanvasRenderingContext2D;
        context.drawImage(v, 0, 0);
        return { time: v.currentTime, size: [v.videoWidth, v.videoHeight], pixels: Array.from(context.getImageData(0, 0, canvas.width, canvas.height).data) };
      });
    const first = await sample();
    await expect.poll(async () => (await sample()).time, { timeout: 30_000 }).toBeGreaterThan(first.time + 1);
    const later = await sample();
    expect(later.size).toEqual([160, 96]);
    expect(Math.max(...later.pixels)).toBeGreaterThan(200);
    expect(later.pixels.some((v, i) => Math.abs(v - (first.pixels[i] as number)) > 64)).toBe(true);
    await page.screenshot({ path: `${WORK}/hls.png` });
    await page.close();
  });
});
