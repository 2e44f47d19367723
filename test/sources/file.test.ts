import { firstValueFrom, lastValueFrom, toArray } from "rxjs";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputVideoError } from "../../src/errors.js";
import { probe } from "../../src/ffmpeg/probe.js";
import { fileSource } from "../../src/sources/file.js";
import type { Frame, Gate } from "../../src/types.js";
import { Credits } from "../../src/pipeline/bounded-in-order.js";
import { COCKATOO, PEDESTRIANS, WORK, clip, decodeAll } from "../helpers/clips.js";
import { until } from "../helpers/until.js";

async function decode(path: string): Promise<Frame[]> {
  return lastValueFrom(fileSource(path, await probe(path)).pipe(toArray()));
}

describe("file source", () => {
  it("decodes every frame of a real clip, in order, identical to ffmpeg's own decode", async () => {
    const frames = await decode(PEDESTRIANS);
    const reference = decodeAll(PEDESTRIANS, 640, 480);
    expect(frames).toHaveLength(30);
    expect(frames.map((f) => f.index)).toEqual([...Array(30).keys()]);
    frames.forEach((f, i) => expect(Buffer.from(f.rgb).equals(reference[i] as Buffer)).toBe(true));
    expect(frames[29]?.ptsMs).toBeCloseTo(2900, 0);
  });

  it("keeps variable-frame-rate timestamps frame by frame", async () => {
    // 10 fps for 1 s, then 30 fps for 1 s: 40 frames whose gaps change from 100 to 33 ms.
    const vfr = clip(
      "vfr.mkv",
      "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=1",
      "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=30:duration=1",
      "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]", "-vsync", "vfr", "-c:v", "libx264",
    );
    const frames = await decode(vfr);
    expect(frames).toHaveLength(40);
    const gaps = frames.slice(1).map((f, i) => f.ptsMs - (frames[i] as Frame).ptsMs);
    // Matroska stores milliseconds: 33.3 ms gaps come out as 33 or 34.
    expect(Math.abs((gaps[0] as number) - 100)).toBeLessThan(1.5);
    expect(Math.abs((gaps[38] as number) - 33.3)).toBeLessThan(1.5);
  });

  it("handles odd sizes, rotation metadata and 10-bit input", async () => {
    const odd = clip("odd.mp4", "-f", "lavfi", "-i", "testsrc=size=97x65:rate=10:duration=0.5", "-c:v", "libx264", "-pix_fmt", "yuv444p");
    expect((await decode(odd)).map((f) => [f.width, f.height, f.rgb.length])).toContainEqual([97, 65, 97 * 65 * 3]);

    const plain = clip("plain.mp4", "-f", "lavfi", "-i", "testsrc2=size=64x32:rate=10:duration=0.5", "-c:v", "libx264", "-pix_fmt", "yuv420p");
    const rotated = clip("rotated.mp4", "-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=90");
    const info = await probe(rotated);
    expect([info.width, info.height]).toEqual([32, 64]);
    const frames = await decode(rotated);
    expect(frames[0]?.rgb.length).toBe(32 * 64 * 3);

    const tenBit = clip("10bit.mkv", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=0.5", "-c:v", "ffv1", "-pix_fmt", "yuv420p10le");
    expect(await decode(tenBit)).toHaveLength(5);
  });

  it("marks the first frame after a scene cut as a discontinuity", async () => {
    const cut = clip(
      "cut.mp4",
      "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=1",
      "-f", "lavfi", "-i", "mandelbrot=size=64x48:rate=10",
      "-filter_complex", "[1:v]trim=duration=1,setpts=PTS-STARTPTS[b];[0:v][b]concat=n=2:v=1[v]", "-map", "[v]", "-c:v", "libx264",
    );
    const frames = await decode(cut);
    expect(frames.filter((f) => f.discontinuity).map((f) => f.index)).toEqual([10]);
  });

  it("reads a real clip with audio (cockatoo, mp3)", async () => {
    const info = await probe(COCKATOO);
    expect(info.audioCodec).toBe("mp3");
    const first = await firstValueFrom(fileSource(COCKATOO, info));
    expect([first.width, first.height, first.index]).toEqual([1280, 720, 0]);
  });

  it("delivers the decodable frames of a truncated file, then a clear error", async () => {
    const full = clip("full.mkv", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=20:duration=3", "-c:v", "libx264", "-g", "10");
    const bytes = (await import("node:fs")).readFileSync(full);
    const truncated = join(WORK, "truncated.mkv");
    writeFileSync(truncated, bytes.subarray(0, bytes.length / 2));
    const seen: Frame[] = [];
    const info = await probe(truncated);
    const error = await new Promise<Error>((resolve) =>
      fileSource(truncated, info).subscribe({ next: (f) => seen.push(f), error: resolve, complete: () => resolve(new Error("completed")) }),
    );
    expect(error).toBeInstanceOf(InputVideoError);
    expect(error.message).toMatch(/truncated\.mkv: truncated or damaged: decoded \d+ frames, up to [\d.]+ s of the 3\.00 s announced/);
    expect(seen.length).toBeGreaterThan(10);
    expect(seen.length).toBeLessThan(45);
  });

  it("reads a file that starts late (a cut that kept its times) as whole, its length its own", async () => {
    // Matroska announces only where the file ends (3 s), not how long it is (2 s from 1 s).
    const late = clip("late.mkv", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=3", "-vf", "trim=start=1", "-c:v", "libx264");
    const info = await probe(late);
    expect([info.startMs, info.durationMs]).toEqual([1000, 2000]);
    const frames: Frame[] = [];
    const ended = await new Promise<string>((resolve) => fileSource(late, info).subscribe({ next: (f) => frames.push(f), error: (e: Error) => resolve(e.message), complete: () => resolve("complete") }));
    expect(ended).toBe("complete");
    expect(frames).toHaveLength(20);
  });

  it("names the problem with a missing or non-video input", async () => {
    await expect(probe(join(WORK, "nope.mp4"))).rejects.toThrow(/nope\.mp4: no such file/);
    const audio = clip("audio.m4a", "-f", "lavfi", "-i", "sine=duration=0.5", "-c:a", "aac");
    await expect(probe(audio)).rejects.toThrow(/audio\.m4a: no video stream \(ffprobe found: audio\)/);
    const text = join(WORK, "notes.mp4");
    writeFileSync(text, "not a video at all\n");
    await expect(probe(text)).rejects.toThrow(/notes\.mp4: not a readable video/);
  });

  it("reads no further than its gate allows", async () => {
    // Three slots; the source asks for one before each frame, so its fourth ask waits.
    const credits = new Credits(3);
    let asked = 0;
    const gate: Gate = { acquire: () => (asked++, credits.acquire()) };
    const frames: Frame[] = [];
    const subscription = fileSource(PEDESTRIANS, await probe(PEDESTRIANS), { gate }).subscribe((f) => frames.push(f));
    await until(() => asked >= 4, 30_000, "the source to ask for a fourth slot");
    expect([asked, frames.length]).toEqual([4, 3]);
    credits.release();
    await until(() => asked >= 5, 30_000, "the source to ask for a fifth slot");
    expect([asked, frames.length]).toEqual([5, 4]);
    subscription.unsubscribe();
  });
});
