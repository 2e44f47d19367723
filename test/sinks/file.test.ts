import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileSink } from "../../src/sinks/file.js";
import { WORK, decodeAll } from "../helpers/clips.js";

const frames = Array.from({ length: 6 }, (_, i) => {
  const rgb = new Uint8Array(33 * 17 * 3);
  for (let p = 0; p < rgb.length; p++) rgb[p] = (p * 7 + i * 31) % 256;
  return { stream: "t", index: i, ptsMs: i * 40, width: 33, height: 17, rgb };
});

describe("file sink", () => {
  it.each(["lossless.mkv", "lossless.mp4"])("writes bit-exact RGB with the lossless choice (%s)", async (name) => {
    const output = join(WORK, name);
    const sink = await FileSink.open({
      output, width: 33, height: 17, timing: { clock: "pts", timeBase: "1/25", frameRate: "25/1" }, audioFrom: null, audioCodec: null,
      encode: { codec: "libx264", crf: 18, preset: "veryfast", lossless: true },
    });
    for (const frame of frames) await sink.write(frame);
    await sink.close();
    const decoded = decodeAll(output, 33, 17);
    expect(decoded).toHaveLength(6);
    decoded.forEach((d, i) => expect(Buffer.from(frames[i]?.rgb ?? []).equals(d)).toBe(true));
  });

  it("close() is safe to call twice: both calls settle, and the file is there, whole", async () => {
    const output = join(WORK, "closed-twice.mkv");
    const sink = await FileSink.open({
      output, width: 33, height: 17, timing: { clock: "pts", timeBase: "1/25", frameRate: "25/1" }, audioFrom: null, audioCodec: null,
      encode: { codec: "libx264", crf: 18, preset: "veryfast", lossless: true },
    });
    for (const frame of frames) await sink.write(frame);
    await Promise.all([sink.close(), sink.close()]);
    await sink.close();
    expect(decodeAll(output, 33, 17)).toHaveLength(6);
  });
});

describe("file sink timing", () => {
  const frameAt = (i: number) => {
    const frame = frames[i];
    if (!frame) throw new Error(`no test frame ${i}`);
    return frame;
  };
  const open = (name: string) =>
    FileSink.open({
      output: join(WORK, name), width: 33, height: 17, timing: { clock: "pts", timeBase: "1/1000", frameRate: "25/1" }, audioFrom: null, audioCodec: null,
      encode: { codec: "libx264", crf: 18, preset: "veryfast", lossless: false },
    });

  it("writes frames whose times repeat one tick apart instead of failing (a damaged input's timestamps)", async () => {
    const sink = await open("repeated-times.mkv");
    const times = [0, 40, 40, 120];
    for (const [i, ptsMs] of times.entries()) await sink.write({ ...frameAt(i), ptsMs });
    await sink.close();
    const out = execFileSync("ffprobe", ["-v", "error", "-show_entries", "frame=pts", "-of", "json", join(WORK, "repeated-times.mkv")]).toString();
    expect((JSON.parse(out) as { frames: { pts: number }[] }).frames.map((f) => f.pts)).toEqual([0, 40, 41, 120]);
  });

  it("refuses a frame of another size, naming both sizes, instead of misaligning the video", async () => {
    const sink = await open("wrong-size.mkv");
    await expect(sink.write({ ...frameAt(0), width: 32 })).rejects.toThrow(/a 32x17 frame came for a 33x17 video/);
    await sink.abort();
  });
});
