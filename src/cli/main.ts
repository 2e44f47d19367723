#!/usr/bin/env node
import { Command } from "commander";
import { ConfigError } from "../config/load.js";
import { InputError, OutputError } from "../ffmpeg/errors.js";
import { log } from "../log.js";
import { deblurCommand } from "./deblur-command.js";
import { detectCompareCommand } from "./detect-compare-command.js";
import { infoCommand } from "./info-command.js";
import { jobsCommand } from "./jobs-command.js";
import { StartupError } from "./resources.js";
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

exitOnStopSignals();
program.parseAsync().catch((error: unknown) => {
  // Bad input, bad config, a failed start-up and an output that cannot be written (a full
  // disk) are the user's to fix: their message is the whole story. Anything else is a bug: show where.
  const known = error instanceof InputError || error instanceof ConfigError || error instanceof StartupError || error instanceof OutputError;
  log.error(known ? (error as Error).message : ((error as Error).stack ?? String(error)));
  // Exit now: a worker thread or socket left open by the failure must not keep us hanging.
  process.exit(known ? 2 : 1);
});
