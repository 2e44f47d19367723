#!/usr/bin/env node
import { Command } from "commander";
import { log } from "../log.js";
import { deblurCommand } from "./deblur-command.js";
import { detectCompareCommand } from "./detect-compare-command.js";
import { infoCommand } from "./info-command.js";
import { jobsCommand } from "./jobs-command.js";
import { failureReport, usageExitCode } from "./failure-report.js";
import { exitOnStopSignals } from "./stop-signals.js";
import { submitCommand } from "./submit-command.js";
import { workerCommand } from "./worker-command.js";
import { serveCommand } from "./serve-command.js";

const program = new Command("dsanet")
  .description("Streaming video deblurring with DSANet")
  .showHelpAfterError()
  .addCommand(deblurCommand())
  .addCommand(serveCommand())
  .addCommand(detectCompareCommand())
  .addCommand(infoCommand())
  .addCommand(submitCommand())
  .addCommand(workerCommand())
  .addCommand(jobsCommand());

// Subcommands added whole do not inherit the program's exitOverride: each is given its own.
for (const command of [program, ...program.commands]) command.exitOverride((error) => process.exit(usageExitCode(error)));
exitOnStopSignals();
program.parseAsync().catch((error: unknown) => {
  const failure = failureReport(error);
  log.error(failure.text);
  // Exit now: a worker thread or socket left open by the failure must not keep us hanging.
  process.exit(failure.exitCode);
});
