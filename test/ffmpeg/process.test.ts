import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FfmpegError, briefly } from "../../src/ffmpeg/errors.js";
import { findFfmpeg } from "../../src/ffmpeg/locate.js";
import { FfmpegProcess } from "../../src/ffmpeg/process.js";
import { FrameReader } from "../../src/sources/frame-reader.js";
import { REPO, WORK } from "../helpers/clips.js";
import { processesWith } from "../helpers/processes.js";
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

  it("an ffmpeg killed from outside fails with the signal, which the one-line log reason names", async () => {
    const endless = new FfmpegProcess((await findFfmpeg()).path, rgbFrames(null));
    endless.stdout.resume();
    process.kill(endless.pid ?? 0, "SIGKILL");
    const error = await endless.done.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(FfmpegError);
    expect(error).toMatchObject({ signal: "SIGKILL", exitCode: null });
    expect(briefly(error)).toBe("ffmpeg was killed by SIGKILL");
    expect(briefly(new Error("a later failure", { cause: error }))).toBe("ffmpeg was killed by SIGKILL");
  });

  it("an end that close() asked for is clean, also when ffmpeg takes SIGTERM itself and exits with code 255", async () => {
    // An ffmpeg in its loop (here encoding to the null muxer) sees SIGTERM, finishes and exits
    // with 255 ("Exiting normally, received signal 15"), not by the signal: the legs of a
    // TeeEncoder closed for another leg's stall took that for a death (shared-encoder.test.ts
    // failed on it in 1 fresh CI run of 4).
    let running = (): void => undefined;
    const started = new Promise<void>((resolve) => (running = resolve));
    const endless = new FfmpegProcess((await findFfmpeg()).path, ["-v", "info", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10", "-f", "null", "-"], {
      onStderrLine: (line) => line.startsWith("Output #0") && running(),
    });
    await started;
    await endless.close();
    expect(endless.stderr()).toMatch(/Exiting normally, received signal 15/);
    expect(await endless.done.then(() => "clean", (e: unknown) => e)).toBe("clean");
  });

  it("close() stops a running ffmpeg that nobody reads", async () => {
    const endless = new FfmpegProcess((await findFfmpeg()).path, rgbFrames(null));
    expect(await within(endless.close().then(() => "closed"), 10_000)).toBe("closed");
  });
});

describe("no ffmpeg outlives the process that started it", () => {
  // ffmpegs run detached (out of reach of a terminal's signals), so only the process's own exit
  // can end them; this one would otherwise run on for a minute, writing nothing anyone reads.
  for (const [ending, code] of [["throws an uncaught error", 1], ["calls process.exit(3)", 3]] as const) {
    it(`a process that ${ending} kills its running ffmpeg`, async () => {
      const marker = `orphan-check-${process.pid}-${code}`;
      const args = ["-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10", "-t", "60", "-metadata", `title=${marker}`, "-f", "null", "-"];
      const end = code === 1 ? `throw new Error("a stage threw")` : `process.exit(${code})`;
      const script = join(WORK, `orphan-${code}.mts`);
      writeFileSync(
        script,
        [
          `import { FfmpegProcess } from ${JSON.stringify(join(REPO, "src/ffmpeg/process.ts"))};`,
          `const ffmpeg = new FfmpegProcess(${JSON.stringify((await findFfmpeg()).path)}, ${JSON.stringify(args)});`,
          `process.stdout.write(String(ffmpeg.pid) + "\\n");`,
          // Once the test has seen ffmpeg run, as a stage fails while its encoder works.
          `process.stdin.once("data", () => { ${end}; });`,
        ].join("\n"),
      );
      const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: REPO, stdio: ["pipe", "pipe", "pipe"] });
      const [line] = (await once(child.stdout, "data")) as [Buffer];
      const pid = Number(line.toString());
      await until(() => processesWith(marker).includes(pid), 30_000, "ffmpeg running");
      child.stdin.write("go\n");
      const [exitCode] = (await once(child, "exit")) as [number | null];
      expect(exitCode).toBe(code);
      expect(processesWith(marker), "ffmpegs that outlived their process").toEqual([]);
    });
  }
});
