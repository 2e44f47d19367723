import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probe } from "../../src/ffmpeg/probe.js";
import { createOnnxEngine } from "../../src/engine/onnx-engine.js";
import type { Engine } from "../../src/engine/engine.js";
import { deblurFile, type DeblurFileOptions } from "../../src/pipeline/deblur-file.js";
import { joinChunks } from "../../src/queue/join.js";
import { REPO, WORK, clip, decodeAll, meanAbsDiff, streamInfo } from "../helpers/clips.js";
import { deblurFileOptions } from "../helpers/deblur-options.js";

// DSANet-Lite on one thread: these tests are about timing and sizes, not about the picture.
let engine: Engine;
beforeAll(async () => {
  engine = await createOnnxEngine({ model: join(REPO, "models/dsanet-lite.onnx"), scales: 2, threads: 1, provider: "cpu" });
});
afterAll(() => engine.close());

const options = (input: string, output: string): DeblurFileOptions => deblurFileOptions(engine, input, output);

/** Every decoded frame's pts (in ticks of the time base) and size, as ffprobe -show_frames sees them. */
function frames(path: string): { timeBase: string; pts: number[]; sizes: string[] } {
  const out = execFileSync("ffprobe", [
    "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=time_base:frame=pts,width,height", "-of", "json", path,
  ]).toString();
  const json = JSON.parse(out) as { streams: { time_base: string }[]; frames: { pts: number; width: number; height: number }[] };
  return {
    timeBase: json.streams[0]?.time_base ?? "",
    pts: json.frames.map((f) => f.pts),
    sizes: [...new Set(json.frames.map((f) => `${f.width}x${f.height}`))],
  };
}

/**
 * 1 s at 30 fps, then 1 s at 10 fps (every third frame of a 30 fps source kept after frame 29):
 * 40 frames whose spacing changes at frame 30 (t = 1.000 s).
 */
function variableRate(name: string, options: { readonly audio: boolean; readonly encode: readonly string[] }): string {
  const audio = options.audio ? ["-f", "lavfi", "-i", "sine=frequency=440:duration=2"] : [];
  return clip(
    name,
    "-f", "lavfi", "-i", "testsrc2=s=64x48:r=30:d=2", ...audio,
    "-filter_complex", "[0:v]select='lt(n\\,30)+not(mod(n-30\\,3))'[v]", "-map", "[v]", ...(options.audio ? ["-map", "1:a", "-c:a", "aac"] : []),
    "-vsync", "passthrough", "-c:v", "libx264", "-preset", "ultrafast", ...options.encode,
  );
}

describe("timing: variable frame rate in, the same presentation times out", () => {
  it.each([
    ["mp4 (time base 1/15360)", "vfr.mp4", ["-video_track_timescale", "15360"]],
    ["mkv (time base 1/1000)", "vfr.mkv", []],
  ])("keeps every frame's pts and the time base: %s", async (_, name, encode) => {
    const input = variableRate(name, { audio: false, encode });
    const before = frames(input);
    expect(before.pts).toHaveLength(40);
    const output = join(WORK, `deblurred-${name}`);
    const summary = await deblurFile(options(input, output));
    expect(summary.frames).toBe(40);
    const after = frames(output);
    expect(after.timeBase).toBe(before.timeBase);
    expect(after.pts).toEqual(before.pts);
    // Frame 30 is the first at 10 fps: it was shown at 1.900 s when the output ran at a constant rate.
    const [num, den] = after.timeBase.split("/").map(Number) as [number, number];
    expect(((after.pts[30] as number) * num) / den).toBeCloseTo(1.0, 6);
  });

  it("keeps them through the queue's chunks and their join, with the audio", async () => {
    const input = variableRate("vfr-audio.mp4", { audio: true, encode: ["-video_track_timescale", "15360"] });
    const info = await probe(input);
    // The middle chunk straddles the change of rate.
    const plan = [{ first: 0, count: 22 }, { first: 22, count: 12 }, { first: 34, count: 6 }];
    const chunks = plan.map((_, i) => join(WORK, "vfr-chunks", `${i}.mp4`));
    for (const [i, chunk] of plan.entries()) {
      await deblurFile({ ...options(input, chunks[i] as string), info, range: { ...chunk, warmup: 2 } });
    }
    const output = join(WORK, "vfr-joined.mp4");
    await joinChunks({ chunks, input, info, output, frames: 40 });
    const [before, after] = [frames(input), frames(output)];
    expect(after.timeBase).toBe(before.timeBase);
    expect(after.pts).toEqual(before.pts);
    const audio = streamInfo(output, "a:0");
    expect(audio.codec).toBe("aac");
    expect(audio.pts[0]).toBeCloseTo(streamInfo(input, "a:0").pts[0] as number, 3);
    // -shortest ends it near the last video packet's decoding time (about 1.75 s of 2), as before.
    expect(audio.duration).toBeGreaterThan(1.7);
  });
});

describe("timing: the start time and the audio stay where they were", () => {
  it("keeps a .ts file's start (2.8 s) for video and audio, and does not take it for truncated", async () => {
    const input = clip("late-start.ts", "-f", "lavfi", "-i", "testsrc2=s=64x48:r=25:d=1", "-f", "lavfi", "-i", "sine=duration=1", "-c:v", "libx264", "-c:a", "aac", "-output_ts_offset", "1.4");
    const output = join(WORK, "late-start-deblurred.mp4");
    const summary = await deblurFile(options(input, output));
    expect(summary.inputError).toBeNull();
    expect(summary.frames).toBe(25);
    const [before, after] = [frames(input), frames(output)];
    const seconds = (f: { timeBase: string; pts: number[] }) => {
      const [num, den] = f.timeBase.split("/").map(Number) as [number, number];
      return f.pts.map((p) => (p * num) / den);
    };
    expect(seconds(before)[0]).toBeCloseTo(2.8, 6);
    expect(after.timeBase).toBe(before.timeBase);
    expect(after.pts).toEqual(before.pts);
    // The audio starts where it started in the input, 23 ms before the video.
    expect(streamInfo(output, "a:0").pts[0]).toBeCloseTo(streamInfo(input, "a:0").pts[0] as number, 3);
  });
});

describe("sizes: the output has the input's size", () => {
  it.each([
    ["641x359", 641, 359],
    ["1x1", 1, 1],
  ])("an odd size stays exact (%s), 4:4:4 instead of padded 4:2:0", async (size, width, height) => {
    const input = clip(`odd-${size}.mkv`, "-f", "lavfi", "-i", `testsrc=s=${size}:r=10:d=0.3`, "-c:v", "ffv1", "-pix_fmt", "bgr0");
    const output = join(WORK, `odd-${size}-deblurred.mp4`);
    const summary = await deblurFile(options(input, output));
    expect(summary.frames).toBe(3);
    const after = frames(output);
    expect(after.sizes).toEqual([size]);
    expect(after.pts).toHaveLength(3);
    const stream = execFileSync("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=pix_fmt", "-of", "csv=p=0", output]).toString().trim();
    expect(stream).toBe("yuv444p");
    // The picture is the input's, not shifted by a padded edge.
    const [a, b] = [decodeAll(input, width, height), decodeAll(output, width, height)];
    expect(b).toHaveLength(3);
    if (width > 8) expect(meanAbsDiff(a[2] as Buffer, b[2] as Buffer)).toBeLessThan(20);
  });

  it("an even size stays 4:2:0", async () => {
    const input = clip("even-96x64.mp4", "-f", "lavfi", "-i", "testsrc2=s=96x64:r=10:d=0.2", "-c:v", "libx264", "-pix_fmt", "yuv420p");
    const output = join(WORK, "even-96x64-deblurred.mp4");
    await deblurFile(options(input, output));
    expect(frames(output).sizes).toEqual(["96x64"]);
    const stream = execFileSync("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=pix_fmt", "-of", "csv=p=0", output]).toString().trim();
    expect(stream).toBe("yuv420p");
  });

  it("probe tells the bit depth of 8- and 10-bit video", async () => {
    const eight = clip("depth-8.mp4", "-f", "lavfi", "-i", "testsrc2=s=64x48:r=10:d=0.2", "-c:v", "libx264", "-pix_fmt", "yuv420p");
    const ten = clip("depth-10.mkv", "-f", "lavfi", "-i", "testsrc2=s=64x48:r=10:d=0.2", "-c:v", "libx265", "-pix_fmt", "yuv420p10le", "-x265-params", "log-level=error");
    expect((await probe(eight)).bitDepth).toBe(8);
    expect((await probe(ten)).bitDepth).toBe(10);
  });
});
