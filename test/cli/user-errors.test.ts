import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { failureReport } from "../../src/cli/failure-report.js";
import { ConfigError, InputVideoError, OutputError, UserError } from "../../src/errors.js";
import { fromFailure, toFailure } from "../../src/threads/protocol.js";
import { PEDESTRIANS, REPO, WORK } from "../helpers/clips.js";
import { dsanetSync } from "../helpers/command.js";

/** The lines dsanet logged as errors. */
const errorLines = (stderr: string) => stderr.split("\n").filter((line) => line.startsWith("dsanet error"));

describe("what the user must fix, told apart from our bugs", () => {
  it("a UserError is its message and exit 2; anything else its stack and exit 1", () => {
    for (const error of [new UserError("127.0.0.1:8080 is already in use"), new ConfigError("deblur.tile: 48 is not a multiple of 32"), new InputVideoError("x.mp4: no such file"), new OutputError("out.mp4: cannot write", "ENOSPC")]) {
      expect(failureReport(error)).toEqual({ text: error.message, exitCode: 2 });
    }
    const bug = new TypeError("Cannot read properties of null (reading 'name')");
    expect(failureReport(bug)).toEqual({ text: bug.stack, exitCode: 1 });
    expect(failureReport(bug).text).toMatch(/^TypeError: .*\n {4}at /);
    expect(failureReport("thrown as a string")).toEqual({ text: "thrown as a string", exitCode: 1 });
  });

  it("an error keeps its kind across a worker thread: a UserError stays one, a bug keeps the worker's stack", () => {
    const mistake = fromFailure(structuredClone(toFailure(new ConfigError("detector.classes: not COCO labels: pedestrian"))));
    expect(failureReport(mistake)).toEqual({ text: "detector.classes: not COCO labels: pedestrian", exitCode: 2 });
    const bug = new TypeError("undefined is not a function");
    const crossed = fromFailure(structuredClone(toFailure(bug)));
    expect(failureReport(crossed)).toEqual({ text: bug.stack, exitCode: 1 });
  });

  it("a bad flag names its field in one line and exits 2, before anything starts", () => {
    const redis = dsanetSync(["worker", "--redis", "http://queue-host:6379"]);
    expect(redis.code).toBe(2);
    expect(redis.stderr).toMatch(/^dsanet error: command-line flags: invalid config\n {2}queue\.redis: a redis:\/\/ or rediss:\/\/ URL \(got "http:\/\/queue-host:6379"\)\n$/);
    const port = dsanetSync(["serve", "rtsp://192.0.2.1/stream", "--port", "70000"]);
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/^dsanet error: command-line flags: invalid config\n {2}viewer\.port: .*65535.* \(got 70000\)\n$/);
    // What commander refuses itself, naming the flag, is the user's to fix all the same.
    const choice = dsanetSync(["deblur", "x.mp4", "--regions", "some"]);
    expect(choice.code).toBe(2);
    expect(choice.stderr).toMatch(/^error: option '--regions <mode>' argument 'some' is invalid\. Allowed choices are auto, off\.\n/);
    expect(dsanetSync(["deblur", "--help"]).code).toBe(0);
  });

  it("a mistake found in a worker thread is still the user's: one line, exit 2", () => {
    const run = dsanetSync(["deblur", PEDESTRIANS, "-o", join(WORK, "never-classes.mp4"), "--model", "lite", "--threads", "1", "--detect", join(WORK, "never-classes.jsonl"), "--detect-classes", "pedestrian"]);
    expect(run.code, run.stderr).toBe(2);
    expect(errorLines(run.stderr)).toEqual(["dsanet error: detector.classes: not COCO labels: pedestrian (e.g. person, car, bicycle, dog)"]);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it("a programming error at start-up keeps its stack and exits 1, and the engine thread it started does not keep dsanet alive", () => {
    const preload = join(REPO, "test/helpers/type-error-at-startup.ts");
    // The timeout only bounds a hang, which is what this test would catch: dsanet exits by itself.
    const run = spawnSync(process.execPath, ["--import", "tsx", "--import", preload, join(REPO, "src/cli/main.ts"), "serve", "rtsp://127.0.0.1:1/none", "--port", "0", "--model", "lite", "--threads", "1"], {
      cwd: REPO,
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(run.signal, "dsanet hung").toBeNull();
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/dsanet error: TypeError: Cannot read properties of null \(reading 'name'\)\n {4}at /);
    expect(run.stderr).toMatch(/type-error-at-startup\.ts/);
  });
});
