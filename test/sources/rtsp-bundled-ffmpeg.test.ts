import { createRequire } from "node:module";
import { Subscription } from "rxjs";
import { afterAll, describe, expect, it } from "vitest";
import { rtspSource } from "../../src/sources/rtsp.js";
import type { Frame } from "../../src/types.js";
import { RtspServer, freePort } from "../helpers/rtsp.js";
import { until } from "../helpers/until.js";

// The optional npm fallbacks: @ffmpeg-installer/ffmpeg is a 2018 build (ffmpeg 4.1), where the
// RTSP demuxer's -timeout meant listen mode and -stimeout the socket timeout. npm installs them
// from the registry (the binaries ship inside the packages), so CI has them too.
const require = createRequire(import.meta.url);
const bundled = (name: string): string | null => {
  try {
    return (require(name) as { path: string }).path;
  } catch {
    return null;
  }
};
const ffmpeg = bundled("@ffmpeg-installer/ffmpeg");
const ffprobe = bundled("@ffprobe-installer/ffprobe");

const subscriptions = new Subscription();
afterAll(() => subscriptions.unsubscribe());

describe("rtsp source with the bundled ffmpeg 4.1", () => {
  it.skipIf(!ffmpeg || !ffprobe)("connects and reads frames (it used to wait in listen mode forever)", async () => {
    // findFfmpeg reads these once, at its first call: this file runs in a worker of its own.
    process.env.FFMPEG_PATH = ffmpeg ?? "";
    process.env.FFPROBE_PATH = ffprobe ?? "";
    const server = new RtspServer(await freePort());
    await server.start();
    const frames: Frame[] = [];
    subscriptions.add(
      rtspSource(server.url, { name: "cam", transport: "tcp", stallTimeoutMs: 3000, backoff: { initialMs: 200, maxMs: 1000 }, maxAttempts: 3 }).subscribe({
        next: (f) => frames.push(f),
        error: () => undefined,
      }),
    );
    try {
      await until(() => frames.length >= 5, 30_000, "5 frames");
    } finally {
      await server.kill();
    }
    expect(frames[0]).toMatchObject({ width: 160, height: 96 });
  });
});
