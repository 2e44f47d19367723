import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { ConfigOption } from "../../src/cli/config-options.js";
import { deblurCommand } from "../../src/cli/deblur-command.js";
import { detectCompareCommand } from "../../src/cli/detect-compare-command.js";
import { infoCommand } from "../../src/cli/info-command.js";
import { jobsCommand } from "../../src/cli/jobs-command.js";
import { resolveConfig } from "../../src/cli/resolve-config.js";
import { serveCommand } from "../../src/cli/serve-command.js";
import { submitCommand } from "../../src/cli/submit-command.js";
import { workerCommand } from "../../src/cli/worker-command.js";

const COMMANDS = [deblurCommand, serveCommand, detectCompareCommand, infoCommand, submitCommand, workerCommand, jobsCommand].map((make) => make());

/** Help as a terminal shows it, its line wrapping undone. */
const helpOf = (command: Command) => command.helpInformation().replace(/\s+/g, " ");

describe("config flags, declared once per config section", () => {
  it("a flag that sets a config field is the same flag, with the same help and field, in every command that takes it", () => {
    const declared = new Map<string, { help: string; field: string }>();
    for (const command of COMMANDS) {
      for (const option of command.options) {
        if (!(option instanceof ConfigOption) || option.long === undefined) continue;
        const seen = { help: option.description, field: `${option.section}.${option.field}` };
        expect(declared.get(option.long) ?? seen, `${command.name()} ${option.long}`).toEqual(seen);
        declared.set(option.long, seen);
        // The help a user reads is the declaration's, and names the field it sets.
        expect(helpOf(command)).toContain(`${option.flags} ${option.description.replace(/\s+/g, " ")}`);
        expect(option.description).toContain(`(${option.section}.${option.field}`);
      }
    }
    // No command declares one of them by hand beside the declaration.
    const byHand = COMMANDS.flatMap((command) => command.options.filter((o) => !(o instanceof ConfigOption) && o.long !== undefined && declared.has(o.long)).map((o) => `${command.name()} ${o.long}`));
    expect(byHand).toEqual([]);
    expect(declared.size).toBeGreaterThanOrEqual(20);
  });

  it("--no-carry-state says one thing wherever it is taken", () => {
    const helps = COMMANDS.flatMap((command) => command.options.filter((o) => o.long === "--no-carry-state").map((o) => [command.name(), o.description]));
    expect(helps.map(([name]) => name)).toEqual(["deblur", "serve", "detect-compare", "worker"]);
    expect(new Set(helps.map(([, help]) => help)).size).toBe(1);
  });

  it("--tile's help gives each model's stride, as the engines pad frames", () => {
    const tile = deblurCommand().options.find((o) => o.long === "--tile");
    // dsanet info prints these strides for each model ("input stride 16" for lite).
    expect(tile?.description).toMatch(/a multiple of the model's stride \(full 32, lite 16, maxim 64; DSANet's halves with each scale fewer\)/);
  });

  it("detect-compare takes --tile, as its help says, and runs with it", async () => {
    const command = detectCompareCommand();
    expect(helpOf(command)).toContain("--tile <n>");
    command.parseOptions(["--tile", "64", "--no-carry-state", "--detect-classes", "person, car"]);
    const config = await resolveConfig(command);
    expect([config.deblur.tile, config.deblur.carryState, config.detector.classes]).toEqual([64, false, ["person", "car"]]);
  });

  it("a flag's value goes through the schema: a bad one names its field", async () => {
    const command = serveCommand();
    command.parseOptions(["--record-segment", "10x", "--scales", "7"]);
    const message = await resolveConfig(command).then(
      () => "",
      (error: Error) => error.message,
    );
    expect(message).toMatch(/^command-line flags: invalid config\n/);
    expect(message).toMatch(/ {2}engine\.scales: 1, 2 or 3 \(got 7\)/);
    expect(message).toMatch(/ {2}live\.recordSegment: a number and a unit, s, m or h, e\.g\. "10m" \(got "10x"\)/);
  });
});
