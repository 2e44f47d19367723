import { Command } from "commander";
import { ConfigError } from "../errors.js";
import type { Config } from "../config/schema.js";
import { log } from "../log.js";
import { batchingEngine } from "../engine/batching-engine.js";
import { loadEngineInWorker } from "../engine/engine-in-worker.js";
import { serve } from "../pipeline/serve.js";
import { startDetector } from "../detector/start-detector.js";
import { JsonLinesSink } from "../sinks/jsonl.js";
import { DEBLUR_FLAGS, DETECTOR_FLAGS, ENGINE_FLAGS, LIVE_FLAGS, VIEWER_FLAGS, withConfigOptions } from "./config-options.js";
import { resolveConfig } from "./resolve-config.js";
import { Resources } from "./resources.js";
import { onStopSignals } from "./stop-signals.js";

interface ServeFlags {
  record?: string;
  detect?: string | boolean;
  burnIn?: boolean;
}

/** "front=rtsp://..." names a camera; a bare URL is camera1, camera2, ... */
function camera(argument: string, position: number): { name: string; url: string } {
  const named = /^([\w-]+)=(.+)$/.exec(argument);
  return named?.[1] && named[2] ? { name: named[1], url: named[2] } : { name: `camera${position + 1}`, url: argument };
}

/**
 * Cameras whose frames share an inference: live.batch, or by default every camera on a GPU,
 * which batching fills, and one on a CPU, where one frame already keeps every core busy
 * (`npm run bench:batch`, 4 cameras through the engine: 0.94-1.04x batched on 2 cores).
 */
function batchRows(config: Config, cameras: number): number {
  return config.live.batch ?? (config.engine.type === "onnx" && config.engine.provider !== "cpu" ? cameras : 1);
}

/** `dsanet serve`: live cameras deblurred, watched in the browser, recorded, detected. */
export function serveCommand(): Command {
  return withConfigOptions(
    new Command("serve")
      .description("deblur live cameras and show them in the browser")
      .argument("[source...]", "rtsp:// or rtsps:// URLs, optionally named: front=rtsp://... (default: live.sources of the config)")
      .option("--record <file>", "also record the deblurred stream(s) to this file; after a failure (a dead encoder, a full disk) the recording goes on in a new file beside it, named by its start time")
      .option("--detect [file]", "detect COCO objects: boxes on the page, JSON lines to <file> if given")
      .option("--burn-in", "with --detect and --record: draw the boxes into the recording"),
    [ENGINE_FLAGS, DEBLUR_FLAGS, LIVE_FLAGS, VIEWER_FLAGS, DETECTOR_FLAGS],
  ).action(async (sources: string[], flags: ServeFlags, command: Command) => {
    const config = await resolveConfig(command, sources.length ? { live: { sources: sources.map(camera) } } : {});
    const cameras = config.live.sources;
    if (cameras.length === 0) throw new ConfigError("no camera: name rtsp:// URLs as arguments or list them in live.sources of a --config file");
    const resources = new Resources();
    try {
      const batching = { maxRows: batchRows(config, cameras.length), waitMs: config.live.batchWaitMs };
      const engine = resources.add(batchingEngine(await loadEngineInWorker(config.engine), batching));
      const detector = flags.detect ? resources.add(await startDetector(config.detector)) : null;
      const detections = typeof flags.detect === "string" ? resources.add(await JsonLinesSink.open(flags.detect)) : null;
      const serving = resources.add(
        await serve({
          sources: cameras,
          engine,
          ...config.deblur,
          queue: config.live.queue,
          rtsp: { transport: config.live.transport, stallTimeoutMs: config.live.stallTimeoutMs, backoffMs: config.live.backoffMs, maxBackoffMs: config.live.maxBackoffMs },
          viewer: config.viewer,
          record: flags.record ?? null,
          recordSegmentMs: config.live.recordSegment,
          publish: config.live.publish,
          encode: config.output,
          ...(detector ? { detect: { detector, every: config.detector.every, output: detections, burnIn: flags.burnIn ?? false } } : {}),
        }),
      );
      log.info(`serving ${cameras.length} stream(s) at ${serving.url}${config.viewer.token ? "?token=..." : ""} (engine ${engine.name})`);
      // What restarts do not mend ends the process non-zero, for its process manager to start afresh.
      serving.failed.catch((failure: unknown) => {
        log.error((failure as Error).message);
        void resources.close().finally(() => process.exit(1));
      });
    } catch (error) {
      // Close what started (worker threads, the server) before the error is told: a half-started serve must exit, not hang.
      await resources.close().catch(() => undefined);
      throw error;
    }
    onStopSignals({
      finish: () => {
        log.info(`stopping: finishing recordings${flags.record ? " (press Ctrl-C again to stop at once: they are kept as they are)" : ""}`);
        resources.close().then(
          () => process.exit(0),
          (error: unknown) => {
            log.error(`stopping: ${(error as Error).message}`);
            process.exit(1);
          },
        );
      },
      now: () => log.warn(`stopping at once${flags.record ? `: ${flags.record} is kept as it is (it plays)` : ""}`),
    });
  });
}
