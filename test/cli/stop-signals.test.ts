import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { WORK, clip, streamInfo } from "../helpers/clips.js";
import { metric, servedPort, signalGroup, startCommand } from "../helpers/command.js";
import { ffmpegStoppedAtStart, ffmpegsWith, heldAtStart, hold, processesWith, type Held } from "../helpers/processes.js";
import { RtspServer, freePort } from "../helpers/rtsp.js";
import { execFileSync } from "node:child_process";
import { failingModel } from "../helpers/failing-model.js";
import { until } from "../helpers/until.js";

/** Frames a live recording may lose at a stop: its encoder's queue (serve.ts, RECORDING_QUEUE). */
const RECORDING_QUEUE = 64;
const RUNS = 5;

let camera: RtspServer | null = null;
afterAll(() => camera?.kill());

/** Every frame of `path` decodes (ffmpeg stops at the first error), and how many there are. */
function playableFrames(path: string): number {
  execFileSync("ffmpeg", ["-v", "error", "-xerror", "-i", path, "-f", "null", "-"]);
  return streamInfo(path, "v:0").pts.length;
}

/** Files a command left in `folder` besides its outputs: hidden partial files. */
function leftovers(folder: string): string[] {
  return readdirSync(folder).filter((name) => name.includes(".partial."));
}

/** An MP4's header before its first frame: ftyp, free and the mdat box's own header. */
const HEADER_BYTES = 1024;

/** Bytes in the partial files of `folder`: more than a header once the first frames are encoded. */
function encodedBytes(folder: string): number {
  return leftovers(folder).reduce((sum, name) => sum + statSync(join(folder, name)).size, 0);
}

/**
 * Freeze the ffmpeg that writes `output` (its partial file, in `folder`). A first stop waits for
 * the file to be finished, so it is still going when a second Ctrl-C comes, however fast the
 * machine: the test no longer races the stop. The encoder leads a process group of its own,
 * which the Ctrl-C sent to the command's group does not reach.
 */
function holdEncoderOf(folder: string, output: string): Promise<Held> {
  return hold(join(folder, `.${basename(output, extname(output))}.`));
}

describe("a terminal's Ctrl-C and hang-up reach the whole foreground process group", () => {
  for (const signal of ["SIGINT", "SIGHUP"] as const) {
    it(`serve --record: ${signal} to the group finishes the recording, ${RUNS} runs out of ${RUNS}`, { timeout: 400_000 }, async () => {
      camera ??= new RtspServer(await freePort());
      await camera.start();
      const folder = join(WORK, `record-${signal}`);
      mkdirSync(folder, { recursive: true });
      for (let run = 1; run <= RUNS; run++) {
        const output = join(folder, `run-${run}.mp4`);
        const serve = startCommand(["serve", `cam=${camera.url}`, "--port", "0", "--model", "lite", "--threads", "1", "--record", output], { ownGroup: true });
        try {
          const port = await servedPort(serve);
          await until(async () => (await metric(port, "dsanet_frames_out_total", "cam")) >= 5, 60_000, `run ${run}: 5 frames out`);
          // The recording has begun (its encoder wrote a first fragment): a stop from here on must keep it.
          await until(() => leftovers(folder).length > 0, 60_000, `run ${run}: the recording begun`);
          // Stop at a different moment each run, while frames are deblurred and written.
          const framesOut = await until(async () => {
            const count = await metric(port, "dsanet_frames_out_total", "cam");
            return count >= 5 + 2 * run ? count : null;
          }, 60_000, `run ${run}: ${5 + 2 * run} frames out`);
          signalGroup(serve, signal);
          expect(await serve.exit(30_000), `run ${run}:\n${serve.stderr()}`).toBe(0);
          expect(serve.stderr()).not.toMatch(/Error|EPIPE|at .*\.js/);
          expect(playableFrames(output), `run ${run}`).toBeGreaterThanOrEqual(framesOut - RECORDING_QUEUE);
          expect(playableFrames(output)).toBeGreaterThan(0);
          expect(leftovers(folder)).toEqual([]);
        } finally {
          serve.child.kill("SIGKILL");
        }
      }
    });
  }

  it("serve --record: a second Ctrl-C stops at once and still leaves a playable recording", { timeout: 120_000 }, async () => {
    camera ??= new RtspServer(await freePort());
    await camera.start();
    const folder = join(WORK, "record-twice");
    mkdirSync(folder, { recursive: true });
    const output = join(folder, "twice.mp4");
    const serve = startCommand(["serve", `cam=${camera.url}`, "--port", "0", "--model", "lite", "--threads", "1", "--record", output], { ownGroup: true });
    let encoder: Held | null = null;
    try {
      await servedPort(serve);
      // What a second Ctrl-C keeps is the fragments on disk (a fragment a second): its encoder is
      // killed, with the frames it had not yet written.
      await until(() => encodedBytes(folder) > HEADER_BYTES, 60_000, "the first fragment written");
      encoder = await holdEncoderOf(folder, output);
      signalGroup(serve, "SIGINT");
      await until(() => /stopping/.test(serve.stderr()), 10_000, "the first stop");
      expect(serve.child.exitCode, "the first stop is still finishing the recording").toBeNull();
      signalGroup(serve, "SIGINT");
      expect(await serve.exit(10_000), serve.stderr()).toBe(130);
      expect(serve.stderr()).toContain("stopping at once");
    } finally {
      serve.child.kill("SIGKILL");
      await encoder?.release();
    }
    expect(readdirSync(folder)).toContain("twice.mp4");
    expect(playableFrames(output)).toBeGreaterThan(0);
    expect(leftovers(folder)).toEqual([]);
  });

  for (const [signal, code] of [["SIGINT", 130], ["SIGHUP", 129]] as const) {
    it(`deblur: ${signal} to the group writes a shorter, playable file, says so and exits ${code}`, { timeout: 120_000 }, async () => {
      const input = clip("interrupt-in.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=24", "-c:v", "libx264", "-pix_fmt", "yuv420p");
      const folder = join(WORK, `interrupt-${signal}`);
      mkdirSync(folder, { recursive: true });
      const output = join(folder, "out.mp4");
      const deblur = startCommand(["deblur", input, "-o", output, "--model", "lite", "--threads", "1"], { ownGroup: true });
      try {
        await until(() => /engine:/.test(deblur.stderr()), 60_000, `the engine:\n${deblur.stderr()}`);
        await until(() => encodedBytes(folder) > HEADER_BYTES, 60_000, "the first frames encoded");
        signalGroup(deblur, signal);
        expect(await deblur.exit(30_000), deblur.stderr()).toBe(code);
      } finally {
        deblur.child.kill("SIGKILL");
      }
      const said = /interrupted: (\d+) of 600 frames written to (.+)/.exec(deblur.stderr());
      expect(said, deblur.stderr()).not.toBeNull();
      expect(said?.[2]).toBe(output);
      const written = Number(said?.[1]);
      expect(written).toBeGreaterThan(0);
      expect(written).toBeLessThan(600);
      expect(playableFrames(output)).toBe(written);
      expect(leftovers(folder)).toEqual([]);
    });
  }

  // The encoder caught before it has opened its file is the hard case: on a loaded machine it
  // starts late, and if it outlived dsanet it would create the file after dsanet removed it.
  for (const moment of ["before it has opened its file", "while it writes"] as const) {
    it(`deblur: a second Ctrl-C with the encoder held ${moment} stops at once and leaves nothing, not even a hidden partial file`, { timeout: 120_000 }, async () => {
      const input = clip("interrupt-in.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=24", "-c:v", "libx264", "-pix_fmt", "yuv420p");
      const folder = join(WORK, `interrupt-twice-${moment.replaceAll(" ", "-")}`);
      mkdirSync(folder, { recursive: true });
      const output = join(folder, "out.mp4");
      const partial = join(folder, ".out.");
      const beforeOpen = moment === "before it has opened its file";
      const env: Record<string, string> = beforeOpen ? { FFMPEG_PATH: ffmpegStoppedAtStart(partial) } : {};
      const deblur = startCommand(["deblur", input, "-o", output, "--model", "lite", "--threads", "1"], { ownGroup: true, env });
      let encoder: Held | null = null;
      try {
        await until(() => /engine:/.test(deblur.stderr()), 60_000, "the engine");
        encoder = beforeOpen ? await heldAtStart(partial) : await holdEncoderOf(folder, output);
        signalGroup(deblur, "SIGINT");
        // Signals that arrive together are delivered once: the second waits for the first's effect.
        await until(() => /stopping/.test(deblur.stderr()), 10_000, "the first stop");
        expect(deblur.child.exitCode, "the first stop is still finishing the file").toBeNull();
        signalGroup(deblur, "SIGINT");
        expect(await deblur.exit(10_000), deblur.stderr()).toBe(130);
      } finally {
        deblur.child.kill("SIGKILL");
        // Were the encoder still there, this would let it go on: it must not bring the file back.
        await encoder?.release();
      }
      expect(deblur.stderr()).toContain(`stopping at once: nothing written to ${output}`);
      expect(processesWith(partial), "ffmpegs that outlived dsanet").toEqual([]);
      expect(existsSync(output)).toBe(false);
      expect(leftovers(folder)).toEqual([]);
    });
  }
});

describe("no ffmpeg outlives dsanet", () => {
  it("detect-compare, a command with no stop of its own: Ctrl-C exits 130 and its decoders go with it", { timeout: 120_000 }, async () => {
    const input = clip("compare-long.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=60", "-c:v", "libx264", "-pix_fmt", "yuv420p");
    const report = join(WORK, "compare-interrupted.html");
    const compare = startCommand(["detect-compare", input, "-o", report, "--model", "lite", "--threads", "1"], { ownGroup: true });
    try {
      await until(() => ffmpegsWith(input).length > 0, 60_000, () => `its decoder:\n${compare.stderr()}`);
      signalGroup(compare, "SIGINT");
      expect(await compare.exit(30_000), compare.stderr()).toBe(130);
    } finally {
      compare.child.kill("SIGKILL");
    }
    expect(ffmpegsWith(input), "ffmpegs that outlived dsanet").toEqual([]);
  });

  it("deblur: an engine that fails mid-stream exits 1 with its error, and leaves no ffmpeg and no file", { timeout: 120_000 }, async () => {
    // Dark for two seconds, then a bright corner: the model fails at frame 50, with its decoder
    // and encoder at work.
    const input = clip("turns-bright.mp4", "-f", "lavfi", "-i", "color=c=0x404040:s=320x240:r=25:d=4,drawbox=x=0:y=0:w=32:h=32:color=white:t=fill:enable='gte(t,2)'", "-c:v", "libx264", "-pix_fmt", "yuv420p");
    const folder = join(WORK, "engine-fails");
    mkdirSync(folder, { recursive: true });
    const output = join(folder, "out.mp4");
    const deblur = startCommand(["deblur", input, "-o", output, "--model", failingModel(), "--threads", "1"]);
    try {
      expect(await deblur.exit(60_000), deblur.stderr()).toBe(1);
    } finally {
      deblur.child.kill("SIGKILL");
    }
    expect(deblur.stderr()).toContain("indices element out of data bounds");
    expect([...ffmpegsWith(input), ...ffmpegsWith(folder)], "ffmpegs that outlived dsanet").toEqual([]);
    expect(readdirSync(folder)).toEqual([]);
  });
});
