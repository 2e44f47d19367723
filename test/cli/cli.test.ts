import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PEDESTRIANS, REPO, WORK, clip, streamInfo } from "../helpers/clips.js";

function dsanet(...args: string[]) {
  const result = spawnSync(process.execPath, ["--import", "tsx", join(REPO, "src/cli/main.ts"), ...args], { cwd: REPO, encoding: "utf8" });
  return { code: result.status, stderr: result.stderr, stdout: result.stdout };
}

describe("dsanet CLI", () => {
  it("deblurs a file and reports a summary", () => {
    const input = clip("cli-in.mp4", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10:duration=0.6", "-c:v", "libx264", "-pix_fmt", "yuv420p");
    const output = join(WORK, "cli-out.mkv");
    const run = dsanet("deblur", input, "-o", output, "--threads", "1", "--lossless");
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/6 frames in [\d.]+ s: [\d.]+ fps end to end, engine onnx \(cpu\)/);
    expect(streamInfo(output, "v:0").codec).toBe("ffv1");
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

  it("names the field of a bad config or flag", () => {
    const config = join(WORK, "cli-bad.yaml");
    writeFileSync(config, "output:\n  crf: 99\n");
    const run = dsanet("deblur", "x.mp4", "--config", config);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/output\.crf: .*\(got 99\)/);
    const flag = dsanet("deblur", "x.mp4", "--scales", "7");
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/engine\.scales: .*\(got 7\)/);
  });

  it("detect-compare reports detections before and after deblurring, with a picture report", () => {
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
    expect(run.stdout).toMatch(/engine: +onnx \(cpu\), 3 scales/);
    expect(run.stdout).toMatch(/ffmpeg: +\S+ffmpeg/);
    expect(run.stdout).toMatch(/model: +\S+dsanet\.onnx \([\d.]+ MiB\)/);
  });
});
