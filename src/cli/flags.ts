import { InvalidArgumentError, Option, type Command } from "commander";
import { loadConfig, parseConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { MODELS } from "../model/registry.js";

export function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError("not an integer");
  return n;
}

export function number(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError("not a number");
  return n;
}

/** Every flag that overrides a config field; each command defines the ones it offers. */
export interface ConfigFlags {
  config?: string;
  engine?: string;
  model?: string;
  scales?: number;
  stages?: number;
  threads?: number;
  provider?: string;
  backend?: string;
  carryState?: boolean;
  tile?: number;
  regions?: string;
  lossless?: boolean;
  crf?: number;
  preset?: string;
  detectEvery?: number;
  detectClasses?: string;
  udp?: boolean;
  publish?: string;
  recordSegment?: string;
  /** Cameras named on the command line, validated like live.sources. */
  sources?: { name: string; url: string }[];
  redis?: string;
  concurrency?: number;
  chunkSeconds?: number;
  warmup?: number;
  port?: number;
  host?: string;
  token?: string;
  hls?: boolean;
}

/** The fields a flag actually set. */
function defined<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The config file (or the defaults), overridden field by field by flags, validated like a file. */
export async function resolveConfig(flags: ConfigFlags): Promise<Config> {
  const base = await loadConfig(flags.config ?? null);
  return parseConfig(
    {
      ...base,
      engine: { ...base.engine, ...defined({ type: flags.engine, model: flags.model, scales: flags.scales, stages: flags.stages, threads: flags.threads, provider: flags.provider, backend: flags.backend }) },
      // commander's --no-carry-state sets carryState: false, and leaves it true (not undefined) otherwise.
      deblur: { ...base.deblur, ...defined({ carryState: flags.carryState === false ? false : undefined, tile: flags.tile, regions: flags.regions }) },
      output: { ...base.output, ...defined({ lossless: flags.lossless, crf: flags.crf, preset: flags.preset }) },
      detector: { ...base.detector, ...defined({ every: flags.detectEvery, classes: flags.detectClasses?.split(",").map((c) => c.trim()) }) },
      live: { ...base.live, ...defined({ transport: flags.udp ? "udp" : undefined, sources: flags.sources, publish: flags.publish, recordSegment: flags.recordSegment }) },
      viewer: { ...base.viewer, ...defined({ port: flags.port, host: flags.host, token: flags.token, hls: flags.hls }) },
      queue: { ...base.queue, ...defined({ redis: flags.redis, concurrency: flags.concurrency, chunkSeconds: flags.chunkSeconds, warmupFrames: flags.warmup }) },
    },
    flags.config ? `${flags.config} with command-line flags` : "command-line flags",
  );
}

/** --model's names, as the registry has them: "full (DSANet: quality), lite (...)". */
const MODEL_HELP = Object.entries(MODELS)
  .map(([name, model]) => `${name} (${model.title}: ${model.use})`)
  .join(", ");

/** The options every command that runs the model shares. */
export function withEngineOptions(command: Command): Command {
  return command
    .option("-c, --config <file>", "YAML config (see config/default.yaml)")
    .addOption(new Option("--engine <name>", "inference engine").choices(["onnx", "tfjs"]))
    .option("--model <name|path>", `${MODEL_HELP}, or weights: an .onnx file from training/export.py (either engine)`)
    .option("--scales <k>", "DSANet scales, 1-3 (default: as the model was trained)", integer)
    .option("--stages <n>", "maxim: stop after n of its 3 stages, 1-3 (each restores the image; 1 costs a third)", integer)
    .option("--threads <n>", "onnx CPU threads (0: one per available core)", integer)
    .addOption(new Option("--provider <name>", "onnx execution provider (webgpu: a GPU through Vulkan)").choices(["cpu", "webgpu", "cuda", "tensorrt"]))
    .addOption(new Option("--regions <mode>", "auto: on a still camera only what moves goes through the model (off: whole frames)").choices(["auto", "off"]))
    .addOption(new Option("--backend <name>", "tfjs backend").choices(["auto", "tensorflow-gpu", "tensorflow", "wasm"]));
}
