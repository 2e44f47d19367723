#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from "commander";
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfig, parseConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { InputError } from "../ffmpeg/errors.js";
import { log, setLogLevel } from "../log.js";
import { deblurFile } from "../pipeline/deblur-file.js";
import { createEngine } from "../model/create-engine.js";
import { describeInfo } from "./info.js";
import { ProgressBar } from "./progress.js";
import { printSummary } from "./summary.js";

const SAMPLE = fileURLToPath(new URL("../../samples/pedestrians.mp4", import.meta.url));
const SAMPLE_OUTPUT = "out/pedestrians-deblurred.mp4";

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError("not an integer");
  return n;
}

interface EngineFlags {
  config?: string;
  engine?: string;
  model?: string;
  scales?: number;
  threads?: number;
  provider?: string;
  backend?: string;
}

interface DeblurFlags extends EngineFlags {
  output?: string;
  state?: boolean;
  tile?: number;
  lossless?: boolean;
  crf?: number;
  preset?: string;
  quiet?: boolean;
}

/** Flags override the config file field by field; the result is validated like a file. */
async function resolveConfig(flags: DeblurFlags): Promise<Config> {
  const base = await loadConfig(flags.config ?? null);
  const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return parseConfig(
    {
      engine: { ...base.engine, ...defined({ type: flags.engine, model: flags.model, scales: flags.scales, threads: flags.threads, provider: flags.provider, backend: flags.backend }) },
      deblur: { ...base.deblur, ...defined({ state: flags.state === false ? false : undefined, tile: flags.tile }) },
      output: { ...base.output, ...defined({ lossless: flags.lossless, crf: flags.crf, preset: flags.preset }) },
    },
    flags.config ? `${flags.config} with command-line flags` : "command-line flags",
  );
}

function engineOptions(command: Command): Command {
  return command
    .option("-c, --config <file>", "YAML config (see config/default.yaml)")
    .addOption(new Option("--engine <name>", "inference engine").choices(["onnx", "tfjs"]))
    .option("--model <path>", "weights: an .onnx file (onnx) or a model.json (tfjs)")
    .option("--scales <k>", "DSANet scales, 1-3", integer)
    .option("--threads <n>", "onnx CPU threads (0: all cores)", integer)
    .addOption(new Option("--provider <name>", "onnx execution provider").choices(["cpu", "cuda", "tensorrt"]))
    .addOption(new Option("--backend <name>", "tfjs backend").choices(["auto", "tensorflow-gpu", "tensorflow", "wasm"]));
}

const program = new Command("dsanet").description("Streaming video deblurring with DSANet").showHelpAfterError();

engineOptions(
  program
    .command("deblur")
    .description("deblur a video file into a new video file (every frame, with its audio)")
    .argument("[input]", "video file (anything ffmpeg reads); default: the bundled sample clip")
    .option("-o, --output <file>", `output video (default: ${SAMPLE_OUTPUT} for the sample, else <input>-deblurred.mp4)`)
    .option("--no-state", "deblur every frame alone instead of carrying the ConvLSTM state")
    .option("--tile <n>", "process frames in overlapping tiles of n pixels (multiple of 32)", integer)
    .option("--lossless", "bit-exact output (FFV1 in .mkv, x264 RGB otherwise)")
    .option("--crf <n>", "x264 quality, 0-51 (lower is better)", integer)
    .option("--preset <name>", "x264 preset")
    .option("-q, --quiet", "no progress bar, only errors"),
).action(async (input: string | undefined, flags: DeblurFlags) => {
  if (flags.quiet) setLogLevel("error");
  const config = await resolveConfig(flags);
  const source = input ?? SAMPLE;
  const output = flags.output ?? (input ? input.replace(/(\.[^./]+)?$/, "-deblurred.mp4") : SAMPLE_OUTPUT);
  const engine = await createEngine(config.engine);
  log.info(`engine: ${engine.name}, ${engine.scales} scales, state ${config.deblur.state ? "carried" : "reset every frame"}`);
  const bar = flags.quiet ? null : new ProgressBar(source);
  try {
    const summary = await deblurFile({
      input: source,
      output,
      engine,
      carryState: config.deblur.state,
      tile: config.deblur.tile,
      overlap: config.deblur.overlap,
      encode: config.output,
      slots: config.deblur.slots,
      onProgress: (p) => bar?.update(p),
    });
    bar?.stop();
    printSummary(summary);
    if (summary.inputError) {
      log.error(`${summary.inputError.message}\nthe ${summary.frames} frames decoded were written to ${output}`);
      process.exitCode = 1;
    }
  } finally {
    bar?.stop();
    await engine.close();
  }
});

engineOptions(program.command("info").description("show the engine, its providers, ffmpeg and the model")).action(async (flags: EngineFlags) => {
  process.stdout.write(await describeInfo(await resolveConfig(flags)));
});

program.parseAsync().catch((error: unknown) => {
  const known = error instanceof InputError || error instanceof ConfigError;
  log.error(known ? (error as Error).message : ((error as Error).stack ?? String(error)));
  process.exitCode = known ? 2 : 1;
});
