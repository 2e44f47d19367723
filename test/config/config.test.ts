import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Command } from "commander";
import { serveCommand } from "../../src/cli/serve-command.js";
import { resolveConfig } from "../../src/cli/resolve-config.js";
import { loadConfig, parseConfig } from "../../src/config/load.js";
import { REPO, WORK } from "../helpers/clips.js";

function write(name: string, text: string): string {
  const path = join(WORK, name);
  writeFileSync(path, text);
  return path;
}

/** The config `command` would run with, given `args` (its options are parsed, its action not run). */
function configOf(command: Command, ...args: string[]) {
  command.parseOptions(args);
  return resolveConfig(command);
}

describe("config", () => {
  it("the shipped configs are valid and default.yaml states the defaults", async () => {
    const defaults = await loadConfig(null);
    expect(await loadConfig(join(REPO, "config/default.yaml"))).toEqual(defaults);
    const preview = await loadConfig(join(REPO, "config/fast-preview.yaml"));
    expect([preview.engine.model, preview.deblur.carryState]).toEqual(["lite", false]);
    // A config of older days, model: null, still means the shipped DSANet.
    expect(parseConfig({ engine: { model: null } }, "old.yaml").engine.model).toBe("full");
    expect((await loadConfig(join(REPO, "config/cameras.example.yaml"))).live.sources.map((s) => s.name)).toEqual(["entrance", "yard"]);
  });

  it("names the bad field and what it allows", async () => {
    const bad = write("bad.yaml", "engine:\n  type: onx\n  scales: 4\ndeblur:\n  tile: -5\n");
    const message = await loadConfig(bad).then(
      () => "",
      (e: Error) => e.message,
    );
    expect(message).toMatch(/bad\.yaml: invalid config/);
    expect(message).toMatch(/engine\.type: .*"onnx".*"tfjs".*\(got "onx"\)/);
    expect(message).toMatch(/engine\.scales: .*\(got 4\)/);
    expect(message).toMatch(/deblur\.tile: .*\(got -5\)/);
  });

  it("never shows a secret: the viewer's token, passwords in camera and Redis URLs", async () => {
    const message = (attempt: () => unknown) => {
      try {
        attempt();
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error("no error");
    };
    const shortToken = await configOf(serveCommand(), "--token", "s3cr3t").then(() => "", (e: Error) => e.message);
    expect(shortToken).toMatch(/viewer\.token: .*8/);
    expect(shortToken).not.toContain("s3cr3t");
    // zod shows a whole object for an unknown key: the token inside it stays hidden.
    const typo = message(() => parseConfig({ viewer: { token: "long-s3cr3t-token", tokn: 1 } }, "t.yaml"));
    expect(typo).toMatch(/viewer: .*"tokn".*\(got \{"token":"\*\*\*","tokn":1\}\)/);
    expect(message(() => parseConfig({ viewer: { token: 12345678 } }, "t.yaml"))).not.toContain("12345678");
    // Mistyped URLs, where redact()'s scheme:// does not apply, lose their credentials too.
    const redis = message(() => parseConfig({ queue: { redis: "redis:/admin:hunter2@queue-host:6379" } }, "t.yaml"));
    expect(redis).toMatch(/queue\.redis: .*\(got "redis:\/\*\*\*@queue-host:6379"\)/);
    expect(message(() => parseConfig({ queue: { redis: "admin:hunter2@queue-host" } }, "t.yaml"))).toMatch(/\(got "\*\*\*@queue-host"\)/);
    const camera = message(() => parseConfig({ live: { sources: [{ name: "yard", url: "http://cam:hunter2@192.0.2.10/s" }] } }, "t.yaml"));
    expect(camera).toMatch(/live\.sources\.0\.url: .*\(got "http:\/\/\*\*\*@192\.0\.2\.10\/s"\)/);
    expect([redis, camera].join()).not.toMatch(/hunter2|admin/);
  });

  it("command-line flags override the file field by field and keep the rest", async () => {
    const file = write("mine.yaml", "viewer:\n  port: 9999\n  width: 320\nlive:\n  queue: 3\ndeblur:\n  carryState: false\n");
    const fromFile = await configOf(serveCommand(), "--config", file);
    expect([fromFile.viewer.port, fromFile.viewer.width, fromFile.live.queue, fromFile.deblur.carryState]).toEqual([9999, 320, 3, false]);
    const overridden = await configOf(serveCommand(), "--config", file, "--port", "1234", "--no-carry-state", "--udp");
    expect([overridden.viewer.port, overridden.viewer.width, overridden.live.transport, overridden.deblur.carryState]).toEqual([1234, 320, "udp", false]);
  });

  it("rejects unknown fields (typos) and broken YAML", async () => {
    await expect(loadConfig(write("typo.yaml", "engin:\n  type: onnx\n"))).rejects.toThrow(/engin/);
    await expect(loadConfig(write("broken.yaml", "engine: [\n"))).rejects.toThrow(/broken\.yaml: not valid YAML/);
    await expect(loadConfig(join(WORK, "absent.yaml"))).rejects.toThrow(/absent\.yaml: cannot read the config file/);
  });
});
