import { Command } from "commander";
import { log } from "../log.js";
import { loadEngineInWorker } from "../engine/engine-in-worker.js";
import { startQueueWorker } from "../queue/worker.js";
import { redact } from "../redact.js";
import { DEBLUR_FLAGS, ENGINE_FLAGS, only, QUEUE_FLAGS, withConfigOptions } from "./config-options.js";
import { resolveConfig } from "./resolve-config.js";
import { Resources } from "./resources.js";
import { onStopSignals } from "./stop-signals.js";

/** `dsanet worker`: take deblurring jobs from the shared queue, on any number of machines. */
export function workerCommand(): Command {
  return withConfigOptions(new Command("worker").description("deblur jobs from the shared queue (BullMQ on Redis) until stopped"), [
    ENGINE_FLAGS,
    DEBLUR_FLAGS,
    only(QUEUE_FLAGS, "redis", "concurrency"),
  ]).action(async (_flags: unknown, command: Command) => {
    const config = await resolveConfig(command);
    const resources = new Resources();
    try {
      const engine = resources.add(await loadEngineInWorker(config.engine));
      const worker = await startQueueWorker({
        redis: config.queue.redis,
        engine,
        ...config.deblur,
        encode: config.output,
        concurrency: config.queue.concurrency,
        lockMs: config.queue.lockMs,
        onEvent: (level, message) => log[level](message),
      });
      // Stopping does not wait for a long chunk: its lock lapses and another worker redoes it.
      resources.add({ close: () => worker.close(true) });
      log.info(`worker: taking jobs from ${redact(config.queue.redis)} (engine ${engine.name}, ${config.queue.concurrency} at once)`);
    } catch (error) {
      // Close what started (the engine's worker thread) before the error is told: a half-started worker must exit, not hang.
      await resources.close().catch(() => undefined);
      throw error;
    }
    onStopSignals({
      finish: () => {
        log.info("worker: stopping");
        resources.close().then(
          () => process.exit(0),
          (error: unknown) => {
            log.error(`worker: stopping: ${(error as Error).message}`);
            process.exit(1);
          },
        );
      },
      now: () => log.warn("worker: stopping at once: the chunk in progress is left to another worker"),
    });
  });
}
