#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from "commander";
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfig, parseConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { InputError } from "../ffmpeg/errors.js";
import { log, setLogLevel } from "../log.js";
import { deblurFile } from "../pipeline/deblur-file.js";
import { detectCompare } from "../pipeline/detect-compare.js";
import { serve } from "../pipeline/serve.js";
import { writeReport } from "../sinks/report.js";
import { comparisonTable } from "./comparison-table.js";
import { CenternetDetector } from "../sinks/detector/centernet.js";
import { JsonLinesSink } from "../sinks/jsonl.js";
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
  detect?: string;
  detectEvery?: number;
  detectClasses?: string;
}

/** The fields a flag actually set. */
function defined<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Flags override the config file field by field; the result is validated like a file. */
async function resolveConfig(flags: Omit<DeblurFlags, "detect">): Promise<Config> {
  const base = await loadConfig(flags.config ?? null);
  return parseConfig(
    {
      engine: { ...base.engine, ...defined({ type: flags.engine, model: flags.model, scales: flags.scales, threads: flags.threads, provider: flags.provider, backend: flags.backend }) },
      deblur: { ...base.deblur, ...defined({ state: flags.state === false ? false : undefined, tile: flags.tile }) },
      output: { ...base.output, ...defined({ lossless: flags.lossless, crf: flags.crf, preset: flags.preset }) },
      detector: { ...base.detector, ...defined({ every: flags.detectEvery, classes: flags.detectClasses?.split(",").map((c) => c.trim()) }) },
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
    .option("--detect <file>", "write COCO detections on the deblurred frames as JSON lines (- for stdout)")
    .option("--detect-every <n>", "detect on every Nth frame", integer)
    .option("--detect-classes <list>", "comma-separated COCO labels to keep, e.g. person,car")
    .option("-q, --quiet", "no progress bar, only errors"),
).action(async (input: string | undefined, flags: DeblurFlags) => {
  if (flags.quiet) setLogLevel("error");
  const config = await resolveConfig(flags);
  const source = input ?? SAMPLE;
  const output = flags.output ?? (input ? input.replace(/(\.[^./]+)?$/, "-deblurred.mp4") : SAMPLE_OUTPUT);
  const engine = await createEngine(config.engine);
  log.info(`engine: ${engine.name}, ${engine.scales} scales, state ${config.deblur.state ? "carried" : "reset every frame"}`);
  const detector = flags.detect ? await CenternetDetector.load(config.detector) : null;
  const detections = flags.detect ? await JsonLinesSink.open(flags.detect) : null;
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
      ...(detector && detections ? { detect: { detector, every: config.detector.every, output: detections } } : {}),
    });
    bar?.stop();
    printSummary(summary);
    if (summary.inputError) {
      log.error(`${summary.inputError.message}\nthe ${summary.frames} frames decoded were written to ${output}`);
      process.exitCode = 1;
    }
  } finally {
    bar?.stop();
    await detections?.close();
    detector?.close();
    await engine.close();
  }
});

interface ServeFlags extends EngineFlags {
  detect?: string | boolean;
  burnIn?: boolean;
  port?: number;
  host?: string;
  token?: string;
  record?: string;
  udp?: boolean;
  state?: boolean;
}

engineOptions(
  program
    .command("serve")
    .description("deblur live cameras and show them in the browser")
    .argument("[source...]", "rtsp:// or rtsps:// URLs, optionally named: front=rtsp://... (default: live.sources of the config)")
    .option("--port <n>", "HTTP and WebSocket port", integer)
    .option("--host <address>", "address to listen on (default 127.0.0.1)")
    .option("--token <secret>", "require ?token=<secret> for the page, socket and /metrics")
    .option("--record <file>", "also record the deblurred stream(s) to this file")
    .option("--udp", "RTSP over UDP instead of TCP")
    .option("--detect [file]", "detect COCO objects: boxes on the page, JSON lines to <file> if given")
    .option("--burn-in", "with --detect and --record: draw the boxes into the recording")
    .option("--no-state", "deblur every frame alone"),
).action(async (sources: string[], flags: ServeFlags) => {
  const base = await resolveConfig(flags);
  const config = parseConfig(
    {
      ...base,
      live: { ...base.live, ...defined({ transport: flags.udp ? "udp" : undefined }) },
      viewer: { ...base.viewer, ...defined({ port: flags.port, host: flags.host, token: flags.token }) },
    },
    "command-line flags",
  );
  const cameras = sources.length
    ? sources.map((s, i) => {
        const named = /^([\w-]+)=(.+)$/.exec(s);
        return named?.[1] && named[2] ? { name: named[1], url: named[2] } : { name: `camera${i + 1}`, url: s };
      })
    : config.live.sources;
  if (cameras.length === 0) throw new ConfigError("no camera: name rtsp:// URLs as arguments or list them in live.sources of a --config file");
  const engine = await createEngine(config.engine);
  const detector = flags.detect ? await CenternetDetector.load(config.detector) : null;
  const detections = typeof flags.detect === "string" ? await JsonLinesSink.open(flags.detect) : null;
  const serving = await serve({
    sources: cameras,
    engine,
    carryState: config.deblur.state,
    tile: config.deblur.tile,
    overlap: config.deblur.overlap,
    queue: config.live.queue,
    rtsp: { transport: config.live.transport, stallTimeoutMs: config.live.stallTimeoutMs, backoffMs: config.live.backoffMs, maxBackoffMs: config.live.maxBackoffMs },
    viewer: config.viewer,
    record: flags.record ?? null,
    encode: config.output,
    ...(detector ? { detect: { detector, every: config.detector.every, output: detections, burnIn: flags.burnIn ?? false } } : {}),
  });
  log.info(`serving ${cameras.length} stream(s) at ${serving.url}${config.viewer.token ? "?token=..." : ""} (engine ${engine.name})`);
  const stop = async () => {
    log.info("stopping: finishing recordings");
    await serving.stop();
    await detections?.close();
    await engine.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
});

interface CompareFlags extends EngineFlags {
  reference?: string;
  output?: string;
  every?: number;
  detectClasses?: string;
}

engineOptions(
  program
    .command("detect-compare")
    .description("detect objects on the blurred and the deblurred frames of a video, and report the difference")
    .argument("<input>", "a video file")
    .option("--reference <file>", "the sharp truth of the input, frame for frame (a synthesized clip), compared too")
    .option("-o, --output <file>", "HTML report with side-by-side frames and boxes", "out/detect-compare.html")
    .option("--every <n>", "compare every Nth frame", integer, 1)
    .option("--detect-classes <list>", "comma-separated COCO labels to keep"),
).action(async (input: string, flags: CompareFlags) => {
  const config = await resolveConfig(flags);
  const engine = await createEngine(config.engine);
  const classes = flags.detectClasses?.split(",").map((c) => c.trim()) ?? config.detector.classes;
  const detector = await CenternetDetector.load({ ...config.detector, classes });
  try {
    const result = await detectCompare({
      input, reference: flags.reference ?? null, engine, detector, carryState: config.deblur.state, every: flags.every ?? 1, samples: 4,
    });
    const table = comparisonTable(result);
    process.stdout.write(`${result.frames} frames of ${input}, detector ${detector.backend}, min score ${config.detector.minScore}\n`);
    process.stdout.write([`| ${table.columns.join(" | ")} |`, `|${table.columns.map(() => " --- |").join("")}`, ...table.rows.map((r) => `| ${r.join(" | ")} |`)].join("\n") + "\n");
    await writeReport(flags.output ?? "out/detect-compare.html", {
      title: `Detections before and after deblurring: ${input}`,
      table,
      samples: result.samples.map((s) => ({
        index: s.index,
        variants: result.variants.flatMap((v) => {
          const seen = s.frames[v];
          return seen ? [{ name: v, ...seen }] : [];
        }),
      })),
    });
    log.info(`report: ${flags.output}`);
  } finally {
    detector.close();
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
