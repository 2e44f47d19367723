import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { findFfmpeg } from "../../src/ffmpeg/locate.js";
import { FfmpegProcess } from "../../src/ffmpeg/process.js";
import { FrameReader } from "../../src/sources/frame-reader.js";
import { until } from "../helpers/until.js";

/** ffmpeg writing 64x48 RGB frames to stdout: `count` of them, or without end. */
function rgbFrames(count: number | null): string[] {
  return ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10", ...(count === null ? [] : ["-frames:v", String(count)]), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"];
}

/** `promise`'s value, or "hung" if it has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | "hung"> {
  return Promise.race([promise, new Promise<"hung">((resolve) => setTimeout(resolve, ms, "hung"))]);
}

describe("ffmpeg process", () => {
  it("close() returns when ffmpeg has exited with frames left unread on its stdout, and again when called twice", async () => {
    // Three frames are less than a pipe holds: ffmpeg writes them all and exits while its
    // reader, having taken one, waits (as the file source does at its gate).
    const decoder = new FfmpegProcess((await findFfmpeg()).path, rgbFrames(3));
    expect(await new FrameReader(decoder.stdout, 64 * 48 * 3).next()).toHaveLength(64 * 48 * 3);
    // Reaped: Node has seen the exit, and 'close' waits only for the unread stdout now.
    await until(() => !existsSync(`/proc/${decoder.pid}`), 30_000, "ffmpeg to exit");
    expect(await within(decoder.close().then(() => "closed"), 10_000)).toBe("closed");
    expect(await within(decoder.close().then(() => "closed"), 10_000)).toBe("closed");
  });

  it("close() stops a running ffmpeg that nobody reads", async () => {
    const endless = new FfmpegProcess((await findFfmpeg()).path, rgbFrames(null));
    expect(await within(endless.close().then(() => "closed"), 10_000)).toBe("closed");
  });
});
