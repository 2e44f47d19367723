import { Command } from "commander";
import { fileURLToPath } from "node:url";
import { probe } from "../ffmpeg/probe.js";
import { log, setLogLevel } from "../log.js";
import { loadEngineInWorker } from "../engine/engine-in-worker.js";
import { deblurFile } from "../pipeline/deblur-file.js";
import { startDetector } from "../detector/start-detector.js";
import { JsonLinesSink } from "../sinks/jsonl.js";
import { refuseOverwritingInput } from "../sinks/partial-file.js";
import { DEBLUR_FLAGS, DETECTOR_FLAGS, ENGINE_FLAGS, OUTPUT_FLAGS, withConfigOptions } from "./config-options.js";
import { resolveConfig } from "./resolve-config.js";
import { Resources } from "./resources.js";
import { ProgressBar } from "./progress.js";
import { onStopSignals, signalExitCode, type StopSignal } from "./stop-signals.js";
import { printSummary } from "./summary.js";

/** A still camera's street whose walkers are motion-blurred (bench/motion-blur-sample.sh). */
const SAMPLE = fileURLToPath(new URL("../../samples/pedestrians-motion-blur.mp4", import.meta.url));
const SAMPLE_OUTPUT = "out/pedestrians-motion-blur-deblurred.mp4";

interface DeblurFlags {
  output?: string;
  detect?: string;
  quiet?: boolean;
}

/** `dsanet deblur`: a video file in, its deblurred copy out. */
export function deblurCommand(): Command {
  return withConfigOptions(
    new Command("deblur")
      .description("deblur a video file into a new video file (every frame, with its audio)")
      .argument("[input]", "video file (anything ffmpeg reads); default: the bundled sample clip")
      .option("-o, --output <file>", `output video (default: ${SAMPLE_OUTPUT} for the sample, else <input>-deblurred.mp4)`)
      .option("--detect <file>", "write COCO detections on the deblurred frames as JSON lines (- for stdout)")
      .option("-q, --quiet", "no progress bar, only errors"),
    [ENGINE_FLAGS, DEBLUR_FLAGS, OUTPUT_FLAGS, DETECTOR_FLAGS],
  ).action(async (input: string | undefined, flags: DeblurFlags, command: Command) => {
    if (flags.quiet) setLogLevel("error");
    const config = await resolveConfig(command);
    const source = input ?? SAMPLE;
    const output = flags.output ?? (input ? input.replace(/(\.[^./]+)?$/, "-deblurred.mp4") : SAMPLE_OUTPUT);
    // A bad input or output fails here, before seconds are spent loading the model.
    await refuseOverwritingInput(output, [source]);
    const info = await probe(source);
    if (info.videoStreams > 1) log.warn(`${source}: ${info.videoStreams} video streams; only the first is deblurred and written`);
    // The model takes and gives 8-bit RGB: writing 10 bits would only pad what was already cut.
    if (info.bitDepth > 8) log.warn(`${source}: ${info.bitDepth}-bit video; the model works in 8 bits per colour, so ${output} is 8-bit`);
    const resources = new Resources();
    const stop = new AbortController();
    let stoppedBy: StopSignal | null = null;
    onStopSignals({
      finish: (signal) => {
        stoppedBy = signal;
        log.info("stopping: finishing the frames in flight into a shorter, playable file (press Ctrl-C again to stop at once and keep nothing)");
        stop.abort();
      },
      now: () => log.warn(`stopping at once: nothing written to ${output}`),
    });
    try {
      const engine = resources.add(await loadEngineInWorker(config.engine));
      const state = !engine.carriesState ? "none (the model carries no state: frames run one by one)" : config.deblur.carryState ? "carried" : "reset every frame";
      log.info(`engine: ${engine.name}, ${engine.scales} scales, state ${state}`);
      const detector = flags.detect ? resources.add(await startDetector(config.detector)) : null;
      const detections = flags.detect ? resources.add(await JsonLinesSink.open(flags.detect)) : null;
      const bar = flags.quiet ? null : resources.add(new ProgressBar(source));
      const summary = await deblurFile({
        input: source,
        info,
        output,
        engine,
        ...config.deblur,
        encode: config.output,
        onProgress: (p) => bar?.update(p),
        stop: stop.signal,
        ...(detector && detections ? { detect: { detector, every: config.detector.every, output: detections } } : {}),
      });
      bar?.close();
      if (!flags.quiet) printSummary(summary);
      if (summary.interrupted && stoppedBy) {
        const total = summary.expectedFrames === null ? "" : ` of ${summary.expectedFrames}`;
        log.warn(summary.frames > 0 ? `interrupted: ${summary.frames}${total} frames written to ${output}` : `interrupted before the first frame: nothing written to ${output}`);
        process.exitCode = signalExitCode(stoppedBy);
      } else if (summary.inputError) {
        log.error(`${summary.inputError.message}\nthe ${summary.frames} frames decoded were written to ${output}`);
        process.exitCode = 1;
      }
    } finally {
      await resources.close();
    }
  });
}
