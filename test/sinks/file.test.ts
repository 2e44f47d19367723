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
});
