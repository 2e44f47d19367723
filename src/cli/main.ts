#!/usr/bin/env node
import { Command } from "commander";
import { ConfigError } from "../config/load.js";
import { InputError } from "../ffmpeg/errors.js";
import { log } from "../log.js";
import { deblurCommand } from "./deblur-command.js";
import { detectCompareCommand } from "./detect-compare-command.js";
import { infoCommand } from "./info-command.js";
import { serveCommand } from "./serve-command.js";

const program = new Command("dsanet")
  .description("Streaming video deblurring with DSANet")
  .showHelpAfterError()
  .addCommand(deblurCommand())
  .addCommand(serveCommand())
  .addCommand(detectCompareCommand())
  .addCommand(infoCommand());

program.parseAsync().catch((error: unknown) => {
  // Bad input and bad config are the user's to fix: their message is the whole story.
  const known = error instanceof InputError || error instanceof ConfigError;
  log.error(known ? (error as Error).message : ((error as Error).stack ?? String(error)));
  process.exitCode = known ? 2 : 1;
});
