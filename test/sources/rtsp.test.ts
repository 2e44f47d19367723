import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Subscription } from "rxjs";
import { afterAll, describe, expect, it } from "vitest";
import { rtspSource, type LiveEvent } from "../../src/sources/rtsp.js";
import type { Frame } from "../../src/types.js";
import { RtspServer, freePort } from "../helpers/rtsp.js";
import { until } from "../helpers/until.js";


const subscriptions = new Subscription();
afterAll(() => subscriptions.unsubscribe());

describe("rtsp source", () => {
  it("receives frames, and recovers each time the server is killed and restarted", async () => {
    const server = new RtspServer(await freePort());
    await server.start();
    const frames: Frame[] = [];
    const events: LiveEvent[] = [];
    subscriptions.add(
      rtspSource(server.url.replace("rtsp://", "rtsp://viewer:hunter2@"), {
        name: "cam",
        transport: "tcp",
        stallTimeoutMs: 2000,
        backoff: { initialMs: 200, maxMs: 1000 },
        maxAttempts: null,
        onEvent: (e) => events.push(e),
      }).subscribe((f) => frames.push(f)),
    );
    await until(() => frames.length >= 5, 20_000, "first frames");
    expect(frames[0]).toMatchObject({ stream: "cam", index: 0, width: 160, height: 96, discontinuity: true });

    for (let outage = 1; outage <= 3; outage++) {
      await server.kill();
      await until(() => events.filter((e) => e.type === "outage-start").length === outage, 10_000, `outage ${outage} start`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const before = frames.length;
      await server.start();
      await until(() => events.filter((e) => e.type === "outage-end").length === outage && frames.length >= before + 5, 20_000, `recovery ${outage}`);
      // The first frame after the outage resets the model's state.
      expect(frames[before]?.discontinuity).toBe(true);
    }
    // What was seen of the three outages; killing the server for good starts a fourth.
    const seen = [...events];
    await server.kill();

    const starts = seen.filter((e) => e.type === "outage-start");
    const ends = seen.filter((e) => e.type === "outage-end");
    expect(starts).toHaveLength(3);
    expect(ends).toHaveLength(3);
    for (const end of ends) {
      expect(end.durationMs).toBeGreaterThan(900);
      expect(end.framesMissed).toBeGreaterThanOrEqual(9); // 10 fps for at least 0.9 s
    }
    // Frame indices keep counting through the outages; credentials never reach an event.
    expect(frames.map((f) => f.index)).toEqual([...frames.keys()]);
    expect(JSON.stringify(events)).not.toContain("hunter2");
  });

  it("takes a camera back at another resolution at its new size, and says so once", async () => {
    const port = await freePort();
    const first = new RtspServer(port, "160x96@10");
    await first.start();
    const frames: Frame[] = [];
    const events: LiveEvent[] = [];
    subscriptions.add(
      rtspSource(first.url, {
        name: "cam", transport: "tcp", stallTimeoutMs: 2000, backoff: { initialMs: 200, maxMs: 1000 }, maxAttempts: null, onEvent: (e) => events.push(e),
      }).subscribe((f) => frames.push(f)),
    );
    await until(() => frames.length >= 5, 20_000, "first frames");
    await first.kill();
    await until(() => events.some((e) => e.type === "outage-start"), 10_000, "the outage");
    const before = frames.length;
    const second = new RtspServer(port, "320x240@10");
    await second.start();
    await until(() => frames.length >= before + 5, 20_000, "frames at the new size");
    await second.kill();

    expect(frames.slice(0, before).every((f) => f.width === 160 && f.height === 96 && f.rgb.length === 160 * 96 * 3)).toBe(true);
    const after = frames.slice(before);
    expect(after.every((f) => f.width === 320 && f.height === 240 && f.rgb.length === 320 * 240 * 3)).toBe(true);
    expect(after[0]?.discontinuity).toBe(true);
    expect(events.filter((e) => e.type === "resized")).toEqual([
      { type: "resized", stream: "cam", width: 320, height: 240, previousWidth: 160, previousHeight: 96 },
    ]);
    expect(events.filter((e) => e.type === "connected").at(-1)).toMatchObject({ width: 320, height: 240 });
  });

  it("keeps every frame coming when the camera's clock steps back", async () => {
    // GStreamer's shared stream restarts its timestamps for everyone when a client joins
    // after a pause, as some cameras do: a constant-rate output then dropped every frame
    // until the clock caught up, and the stall timeout took the camera down again and again.
    const server = new RtspServer(await freePort());
    await server.start();
    const frames: Frame[] = [];
    const events: LiveEvent[] = [];
    subscriptions.add(
      rtspSource(server.url, {
        name: "cam",
        transport: "tcp",
        stallTimeoutMs: 30_000,
        backoff: { initialMs: 200, maxMs: 1000 },
        maxAttempts: null,
        onEvent: (e) => events.push(e),
      }).subscribe((f) => frames.push(f)),
    );
    await until(() => frames.length >= 30, 20_000, "first frames");
    server.pause();
    await new Promise((resolve) => setTimeout(resolve, 4000));
    server.resume();
    const otherClient = promisify(execFile)("ffmpeg", ["-nostdin", "-v", "error", "-rtsp_transport", "tcp", "-i", server.url, "-t", "2", "-f", "null", "-"]);
    await otherClient;
    const joined = frames.length;
    await until(() => frames.length >= joined + 20, 30_000, "20 frames after the other client");
    // What was seen while the camera served; killing it for good starts an outage of its own.
    const seen = [...events];
    await server.kill();
    // The frames came on one connection all along.
    expect(seen.filter((e) => e.type === "outage-start")).toHaveLength(0);
  });
});
