import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOnnxEngine } from "../../src/engine/onnx-engine.js";
import type { Engine } from "../../src/engine/engine.js";
import { deblurFile, type DeblurFileOptions } from "../../src/pipeline/deblur-file.js";
import { COCKATOO, MODEL, PEDESTRIANS, WORK, clip, decodeAll, meanAbsDiff, streamInfo } from "../helpers/clips.js";
import { deblurFileOptions } from "../helpers/deblur-options.js";

let engine: Engine;
beforeAll(async () => {
  engine = await createOnnxEngine({ model: MODEL, scales: 3, threads: 1, provider: "cpu" });
});
afterAll(() => engine.close());

const options = (input: string, output: string): DeblurFileOptions => deblurFileOptions(engine, input, output);

describe("deblurFile", () => {
  it("writes every frame in order with the input's timestamps and audio", async () => {
    const input = clip(
      "moving.mp4",
      "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=15:duration=2",
      "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
      "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
    );
    const output = join(WORK, "moving-deblurred.mp4");
    const summary = await deblurFile(options(input, output));
    expect(summary.frames).toBe(30);
    expect(summary.inputError).toBeNull();

    const [inVideo, outVideo] = [streamInfo(input, "v:0"), streamInfo(output, "v:0")];
    expect(outVideo.pts).toHaveLength(30);
    outVideo.pts.forEach((t, i) => expect(t).toBeCloseTo(inVideo.pts[i] as number, 3));
    const audio = streamInfo(output, "a:0");
    expect(audio.codec).toBe("aac");
    expect(audio.duration).toBeGreaterThan(1.9);

    // Order: each output frame looks most like the input frame at the same position.
    const before = decodeAll(input, 96, 64);
    const after = decodeAll(output, 96, 64);
    after.forEach((frame, i) => {
      const distances = before.map((b) => meanAbsDiff(frame, b));
      expect(distances.indexOf(Math.min(...distances))).toBe(i);
    });
  });

  it("leaves a still picture's levels as they were: decoding and encoding add no bias", async () => {
    // Real footage held still: after the first frame nothing moves, so with regions on every
    // pixel keeps the input's decoded bytes, and only the decoder and the encoder stand between
    // input and output. swscale's default 4:2:0 conversions made this 1.1 luma levels darker.
    const input = clip("still.mp4", "-i", PEDESTRIANS, "-vf", "select=eq(n\\,0),loop=9:1:0,scale=160:120", "-frames:v", "10", "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p");
    const output = join(WORK, "still-deblurred.mp4");
    await deblurFile({ ...options(input, output), regions: "auto" });
    const [before, after] = [decodeAll(input, 160, 120).at(-1) as Buffer, decodeAll(output, 160, 120).at(-1) as Buffer];
    const meanOf = (rgb: Buffer, channel: number) => rgb.reduce((sum, byte, i) => (i % 3 === channel ? sum + byte : sum), 0) / (rgb.length / 3);
    for (const channel of [0, 1, 2]) expect(Math.abs(meanOf(after, channel) - meanOf(before, channel))).toBeLessThan(0.25);
  });

  it("keeps the mp3 audio of a real clip (cockatoo)", async () => {
    const input = clip("cockatoo-short.mp4", "-i", COCKATOO, "-t", "0.5", "-vf", "scale=320:180", "-c:v", "libx264", "-c:a", "copy");
    const output = join(WORK, "cockatoo-deblurred.mp4");
    const summary = await deblurFile(options(input, output));
    expect(summary.frames).toBe(streamInfo(input, "v:0").pts.length);
    expect(streamInfo(output, "a:0").codec).toBe("mp3");
  });

  it("turns a truncated input into a playable output of the frames decoded, and reports it", async () => {
    const full = clip("long.mkv", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=20:duration=3", "-c:v", "libx264", "-g", "10");
    const bytes = readFileSync(full);
    const truncated = join(WORK, "cut.mkv");
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const output = join(WORK, "cut-deblurred.mkv");
    const summary = await deblurFile(options(truncated, output));
    expect(summary.inputError?.message).toMatch(/cut\.mkv: truncated or damaged/);
    expect(summary.frames).toBeGreaterThan(10);
    // Playable: ffmpeg decodes the output without error, every frame we wrote.
    execFileSync("ffmpeg", ["-v", "error", "-xerror", "-i", output, "-f", "null", "-"]);
    expect(decodeAll(output, 64, 64)).toHaveLength(summary.frames);
  });
});
