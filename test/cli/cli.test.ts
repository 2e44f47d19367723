import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONVERTER_REVISION } from "../../src/convert/convert-tfjs-model.js";
import { availableCores } from "../../src/machine.js";
import { int8Limit } from "../../src/model/integer-units.js";
import { enginePrecision } from "../../src/model/registry.js";
import { PEDESTRIANS, REPO, WORK, clip, decodeAll, psnr, streamInfo } from "../helpers/clips.js";
import { dsanetSync } from "../helpers/command.js";

const dsanet = (...args: string[]) => dsanetSync(args);
/** What the default `--precision auto` adds to DSANet's engine name on this CPU: int8 where it has VNNI, AMX or AVX2. */
const AUTO_INT8 = enginePrecision({ type: "onnx", model: "full", scales: null, provider: "cpu", precision: "auto" }) === "int8" ? ", int8" : "";

describe("dsanet CLI", () => {
  it("deblurs a file and reports a summary", () => {
    const input = clip("cli-in.mp4", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10:duration=0.6", "-c:v", "libx264", "-pix_fmt", "yuv420p");
    const output = join(WORK, "cli-out.mkv");
    const run = dsanet("deblur", input, "-o", output, "--threads", "1", "--lossless");
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(new RegExp(`6 frames in [\\d.]+ s: [\\d.]+ fps end to end, engine onnx \\(cpu, 1 thread${AUTO_INT8}\\)`));
    expect(streamInfo(output, "v:0").codec).toBe("ffv1");
    // -q: "only errors", so no summary either (scripts that run it in a loop read their own figures).
    const quiet = dsanet("deblur", input, "-o", join(WORK, "cli-out-quiet.mkv"), "--threads", "1", "--lossless", "-q");
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe("");
    expect(streamInfo(join(WORK, "cli-out-quiet.mkv"), "v:0").codec).toBe("ffv1");
  });

  it("exits non-zero with a clear message for a missing or non-video input", () => {
    const missing = dsanet("deblur", "no-such-clip.mp4", "-o", "x.mp4");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no-such-clip\.mp4: no such file/);
    const notVideo = join(WORK, "readme.mp4");
    writeFileSync(notVideo, "plain text");
    const bad = dsanet("deblur", notVideo, "-o", join(WORK, "never.mp4"));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/readme\.mp4: not a readable video/);
    expect(existsSync(join(WORK, "never.mp4"))).toBe(false);
  });

  it("refuses to write over its input, by the same path or through a link, and leaves the input whole", () => {
    const input = join(WORK, "precious.mp4");
    copyFileSync(clip("cli-in.mp4", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10:duration=0.6", "-c:v", "libx264", "-pix_fmt", "yuv420p"), input);
    const before = readFileSync(input);
    const link = join(WORK, "precious-link.mp4");
    if (!existsSync(link)) symlinkSync(input, link);
    for (const output of [input, link, join(WORK, ".", "precious.mp4")]) {
      const run = dsanet("deblur", input, "-o", output);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/the output is the input .*precious\.mp4; choose another output file \(-o\)/);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect(readFileSync(input).equals(before)).toBe(true);
  });

  it("writes the output under a temporary name and renames it when complete", async () => {
    const input = clip("cli-long.mp4", "-f", "lavfi", "-i", "testsrc2=size=128x96:rate=20:duration=3", "-c:v", "libx264", "-pix_fmt", "yuv420p");
    const folder = join(WORK, "atomic");
    mkdirSync(folder, { recursive: true });
    const output = join(folder, "out.mp4");
    const run = spawn(process.execPath, ["--import", "tsx", join(REPO, "src/cli/main.ts"), "deblur", input, "-o", output, "--threads", "1", "-q"], { cwd: REPO });
    const exited = new Promise<number | null>((resolve) => run.once("exit", resolve));
    // While frames are being written, only the temporary file exists.
    let seenPartial = false;
    while (!seenPartial && run.exitCode === null) {
      const names = readdirSync(folder);
      seenPartial = names.some((n) => /^\.out\.\d+\.partial\.mp4$/.test(n)) && !names.includes("out.mp4");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await exited).toBe(0);
    expect(seenPartial).toBe(true);
    expect(readdirSync(folder)).toEqual(["out.mp4"]);
    expect(streamInfo(output, "v:0").pts).toHaveLength(60);
  });

  it("names the field of a bad config or flag", () => {
    const config = join(WORK, "cli-bad.yaml");
    writeFileSync(config, "output:\n  crf: 99\n");
    const run = dsanet("deblur", "x.mp4", "--config", config);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/output\.crf: .*\(got 99\)/);
    const flag = dsanet("deblur", "x.mp4", "--scales", "7");
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/engine\.scales: .*\(got 7\)/);
    const stages = dsanet("deblur", PEDESTRIANS, "-o", join(WORK, "never-stages.mp4"), "--stages", "1");
    expect(stages.code).toBe(2);
    expect(stages.stderr).toMatch(/error: engine\.stages: only maxim has stages/);
    const precision = dsanet("deblur", PEDESTRIANS, "-o", join(WORK, "never-precision.mp4"), "--model", "lite", "--precision", "int8");
    expect(precision.code).toBe(2);
    expect(precision.stderr).toMatch(/error: engine\.precision: int8 ships for DSANet \(--model full/);
    const regions = dsanet("deblur", PEDESTRIANS, "-o", join(WORK, "never-regions.mp4"), "--regions", "some");
    expect(regions.code).toBe(2);
    expect(regions.stderr).toMatch(/--regions <mode>' argument 'some' is invalid. Allowed choices are auto, off/);
  });

  it("--regions auto on a still camera deblurs what moves, says what share that was, and keeps the rest byte for byte", () => {
    const input = join(REPO, "samples/pedestrians-motion-blur.mp4");
    const outputs = { whole: join(WORK, "regions-off.mkv"), gated: join(WORK, "regions-auto.mkv") };
    const whole = dsanet("deblur", input, "-o", outputs.whole, "--model", "lite", "--threads", "1", "--lossless");
    const gated = dsanet("deblur", input, "-o", outputs.gated, "--model", "lite", "--threads", "1", "--lossless", "--regions", "auto");
    expect([whole.code, gated.code], gated.stderr).toEqual([0, 0]);
    expect(whole.stderr).not.toMatch(/regions:/);
    const share = Number(/regions: ([\d.]+)% of the pixels went through the model/.exec(gated.stderr)?.[1]);
    expect(share, gated.stderr).toBeGreaterThan(5);
    expect(share).toBeLessThan(40);
    // The frames as decoded from the input, and the share of their bytes each output kept.
    const decoded = decodeAll(input, 640, 480);
    const kept = (path: string) => {
      const frames = decodeAll(path, 640, 480);
      expect(frames).toHaveLength(decoded.length);
      let same = 0;
      frames.forEach((frame, i) => frame.forEach((byte, b) => (same += byte === (decoded[i] as Buffer)[b] ? 1 : 0)));
      return same / (decoded.length * 640 * 480 * 3);
    };
    // Measured with the Lite of 2026-12-06: 96% of the bytes kept gated, 78% whole (the Lite
    // before it, which darkened sharp pictures, kept 46% whole).
    const [keptWhole, keptGated] = [kept(outputs.whole), kept(outputs.gated)];
    // Every byte outside what went through the model is the input's; inside, the model did change some.
    expect(keptGated).toBeGreaterThanOrEqual(1 - share / 100);
    expect(keptGated).toBeLessThan(1);
    // Whole frames change bytes that the gate kept: the model does not leave a still background byte for byte.
    expect(keptWhole).toBeLessThan(keptGated);
  });

  it("--precision int8 runs DSANet's int8 graph, its picture close to fp32's", () => {
    const input = clip("cli-int8-in.mkv", "-i", join(REPO, "samples/pedestrians-motion-blur.mp4"), "-frames:v", "3", "-vf", "crop=160:128:240:160", "-c:v", "ffv1");
    const outputs = { fp32: join(WORK, "cli-int8-fp32.mkv"), int8: join(WORK, "cli-int8-int8.mkv") };
    const fp32 = dsanetSync(["deblur", input, "-o", outputs.fp32, "--model", "full", "--precision", "fp32", "--lossless"]);
    expect(fp32.code, fp32.stderr).toBe(0);
    const int8 = dsanetSync(["deblur", input, "-o", outputs.int8, "--model", "full", "--precision", "int8", "--lossless"]);
    expect(int8.code, int8.stderr).toBe(0);
    expect(int8.stderr).toMatch(/engine: onnx \(cpu, \d+ threads?, int8\)/);
    const [fp32Frames, int8Frames] = [decodeAll(outputs.fp32, 160, 128), decodeAll(outputs.int8, 160, 128)];
    expect(int8Frames).toHaveLength(3);
    // The two graphs differ by their quantization only: 64.5 dB apart on the sample's 640x480 frames (bench/int8.bench.ts).
    int8Frames.forEach((frame, i) => expect(psnr(fp32Frames[i] as Buffer, frame)).toBeGreaterThan(40));
  });

  it("--model maxim --stages 1 stops after MAXIM's first stage, converted into a graph of its own", () => {
    const input = clip("cli-stages-in.mkv", "-i", join(REPO, "samples/pedestrians-motion-blur.mp4"), "-frames:v", "1", "-vf", "crop=64:64:280:160", "-c:v", "ffv1");
    const cache = join(WORK, "stages-cache");
    const run = dsanetSync(["deblur", input, "-o", join(WORK, "cli-stages-out.mkv"), "--model", "maxim", "--stages", "1", "--precision", "fp32", "--lossless"], { DSANET_CACHE: cache });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/engine: maxim-3s \(1 of its 3 stages\) on onnx \(cpu\)/);
    expect(run.stderr).toMatch(/converting @upscalerjs\/maxim-deblurring \(its first 1 of 3 stages\) for 64x64 frames/);
    expect(readdirSync(cache)).toEqual([expect.stringMatching(/^maxim-0\.1\.0-r\d+-1stage-64x64\.onnx$/)]);
    // --precision int8: its own graph, cached beside the fp32 one (named by how far this CPU's
    // int8 values go, int8Limit), and a picture close to fp32's.
    const int8 = dsanetSync(["deblur", input, "-o", join(WORK, "cli-stages-int8.mkv"), "--model", "maxim", "--stages", "1", "--precision", "int8", "--lossless"], { DSANET_CACHE: cache });
    expect(int8.code, int8.stderr).toBe(0);
    expect(int8.stderr).toMatch(/engine: maxim-3s \(1 of its 3 stages\) on onnx \(cpu, int8\)/);
    const graphs = readdirSync(cache);
    expect(graphs).toHaveLength(2);
    expect(graphs).toEqual(expect.arrayContaining([`maxim-0.1.0-r${CONVERTER_REVISION}-1stage-64x64-${int8Limit() === 127 ? "int8" : "int8to63"}.onnx`]));
    const [fp32Frame, int8Frame] = [decodeAll(join(WORK, "cli-stages-out.mkv"), 64, 64)[0], decodeAll(join(WORK, "cli-stages-int8.mkv"), 64, 64)[0]];
    expect(psnr(fp32Frame as Buffer, int8Frame as Buffer)).toBeGreaterThan(35);
  }, 180_000);

  it("detect-compare reports detections before and after deblurring, with a picture report", { timeout: 300_000 }, () => {
    const report = join(WORK, "compare.html");
    const run = dsanet("detect-compare", PEDESTRIANS, "--every", "10", "-o", report, "--threads", "1");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^3 frames of .*pedestrians\.mp4/m);
    expect(run.stdout).toMatch(/\| class \| blurred: count \| blurred: mean score \| deblurred: count \| deblurred: mean score \|/);
    expect(run.stdout).toMatch(/\| person \| \d+ \| 0\.\d{3} \| \d+ \| 0\.\d{3} \|/);
    const html = readFileSync(report, "utf8");
    expect(html.match(/<figure>/g)).toHaveLength(6); // 3 frames x (blurred, deblurred)
    expect(html).toContain("<rect");
  });

  it("info shows the engine, ffmpeg and the model", () => {
    const run = dsanet("info");
    expect(run.code).toBe(0);
    // Threads are set, one per available core: onnxruntime left to choose took one on 2-core EPYCs.
    // --precision auto: DSANet's int8 graph where this CPU has VNNI, AMX or AVX2, fp32 elsewhere.
    expect(run.stdout).toMatch(new RegExp(`engine: +onnx \\(cpu, ${availableCores()} threads?${AUTO_INT8}\\), 3 scales`));
    expect(run.stdout).toMatch(/ffmpeg: +\S+ffmpeg/);
    expect(run.stdout).toMatch(AUTO_INT8 ? /model: +full: \S+dsanet-int8\.onnx \([\d.]+ MiB\)/ : /model: +full: \S+dsanet\.onnx \([\d.]+ MiB\)/);
    const fp32 = dsanet("info", "--precision", "fp32");
    expect(fp32.stdout).toMatch(new RegExp(`engine: +onnx \\(cpu, ${availableCores()} threads?\\), 3 scales`));
    expect(fp32.stdout).toMatch(/model: +full: \S+dsanet\.onnx \([\d.]+ MiB\)/);
    // --model lite: DSANet-Lite, the two scales it was trained with.
    const lite = dsanet("info", "--model", "lite");
    expect(lite.stdout).toMatch(/engine: +onnx \(cpu, \d threads?\), 2 scales, input stride 16/);
    expect(lite.stdout).toMatch(/model: +lite: \S+dsanet-lite\.onnx \([\d.]+ MiB\)/);
  });

  it("says once what the output cannot keep: 10 bits become 8, an odd size goes 4:4:4 at its exact size", () => {
    const input = clip("cli-10bit-odd.mkv", "-f", "lavfi", "-i", "testsrc=size=65x47:rate=10:duration=0.3", "-c:v", "ffv1", "-pix_fmt", "yuv444p10le");
    const output = join(WORK, "cli-10bit-odd-out.mp4");
    const run = dsanet("deblur", input, "-o", output, "--model", "lite", "--threads", "1");
    expect(run.code).toBe(0);
    expect(run.stderr.match(/10-bit video; the model works in 8 bits per colour, so \S+cli-10bit-odd-out\.mp4 is 8-bit/g)).toHaveLength(1);
    expect(run.stderr.match(/65x47 is odd, which 4:2:0 video cannot hold; encoding 4:4:4 \(yuv444p\)/g)).toHaveLength(1);
    const probed = spawnSync("ffprobe", ["-v", "error", "-count_frames", "-show_entries", "stream=width,height,pix_fmt,nb_read_frames", "-of", "csv=p=0", output], { encoding: "utf8" });
    expect(probed.stdout.trim()).toBe("65,47,yuv444p,3");
  });

  it("--model lite deblurs with DSANet-Lite, and a bad model name says what it takes", () => {
    const input = clip("cli-lite-in.mp4", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10:duration=0.5", "-c:v", "libx264", "-pix_fmt", "yuv420p");
    const output = join(WORK, "cli-lite-out.mp4");
    const run = dsanet("deblur", input, "-o", output, "--model", "lite", "--threads", "1");
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/engine: onnx \(cpu, 1 thread\), 2 scales/);
    expect(run.stderr).toMatch(/5 frames in/);
    expect(streamInfo(output, "v:0").pts).toHaveLength(5);
    const bad = dsanet("deblur", input, "-o", join(WORK, "never-lite.mp4"), "--model", "tiny");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/error: engine\.model: tiny: no such model; --model takes full, lite, maxim or the path of an \.onnx file\n$/);
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack: the message is the whole story
  });
});
