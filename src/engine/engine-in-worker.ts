import type { Config } from "../config/schema.js";
import { log } from "../log.js";
import { WorkerClient } from "../threads/worker-client.js";
import { existingModelFile } from "../model/registry.js";
import type { Engine, EngineInput, EngineOutput, EngineState } from "./engine.js";
import type { EngineDescription, WorkerOutput } from "./engine-worker.js";
import { findWebGpuAdapter } from "./webgpu.js";

/** One start of the engine's worker thread, and why it died once it has. */
interface WorkerLife {
  readonly worker: WorkerClient;
  death: Error | null;
}

/** A carried state that lives in the worker, next to its engine: it dies with that worker. */
class WorkerState implements EngineState {
  constructor(
    readonly life: WorkerLife,
    readonly id: number,
  ) {}
  dispose(): void {
    // Fire and forget: calls run in order, so a later frame never sees this state.
    this.life.worker.call("dispose", [this.id]).catch(() => undefined);
  }
}

/**
 * The engine a config asks for (`loadEngineOnThisThread`), in a worker thread of its own: inference never
 * blocks the event loop that reads the cameras. Its side of the thread is engine-worker.ts.
 *
 * A worker that dies (an uncaught error, an exit of its own) is started again at the next call,
 * as Frigate's watchdog starts a dead detector again: the calls in flight and every later call
 * that brings a state of the dead worker fail with its death, so each stream that used it is
 * restarted by its own supervision, its state afresh, at its own backoff's pace. A worker that
 * cannot start again fails the call that asked, and the next call tries again.
 */
export async function loadEngineInWorker(options: Config["engine"]): Promise<Engine> {
  // Here, where a bad model or a missing GPU driver is still a ConfigError the CLI reports in one line.
  existingModelFile(options);
  if (options.type === "onnx" && options.provider === "webgpu") await findWebGpuAdapter();
  const module = new URL(`./engine-worker${extension()}`, import.meta.url);
  const start = async (): Promise<WorkerLife> => {
    const life: WorkerLife = { worker: await WorkerClient.start(module, options, "engine"), death: null };
    void life.worker.died.then((death) => {
      life.death = death;
      log.error(`${death.message}; it starts again at the next frame`);
      // Out of the running workers, so that an exit does not wait for it.
      void life.worker.close();
    });
    return life;
  };
  let life = await start();
  let restarting: Promise<WorkerLife> | null = null;
  let closing: Promise<void> | null = null;
  const alive = (): Promise<WorkerLife> => {
    if (closing) return Promise.reject(new Error("the engine is closed"));
    if (life.death === null) return Promise.resolve(life);
    restarting ??= start()
      .then((started) => (life = started))
      .finally(() => (restarting = null));
    return restarting;
  };
  const description = await life.worker.call<EngineDescription>("describe", []);
  return {
    ...description,
    async run(inputs: readonly EngineInput[], height: number, width: number): Promise<EngineOutput[]> {
      const orphaned = inputs.flatMap(({ state }) => (state instanceof WorkerState && state.life.death ? [state.life.death] : []));
      if (orphaned[0]) throw orphaned[0];
      const current = await alive();
      const frames = inputs.map((input) => input.rgb);
      const previous = inputs.map(({ state }) => (state instanceof WorkerState ? state.id : null));
      // The inputs are the callers' scratch copies: move them rather than copy them, where each owns its buffer.
      const owned = frames.flatMap(({ buffer, byteLength }) => (buffer instanceof ArrayBuffer && byteLength === buffer.byteLength ? [buffer] : []));
      const out = await current.worker.call<WorkerOutput>("run", [frames, previous, height, width], owned);
      return out.frames.map((rgb, i) => ({ rgb, state: new WorkerState(current, out.states[i] as number) }));
    },
    close: () =>
      (closing ??= (async () => {
        await restarting?.catch(() => undefined);
        await life.worker.close();
      })()),
  };
}

/** ".ts" when running from source, ".js" once built. */
function extension(): string {
  return import.meta.url.slice(import.meta.url.lastIndexOf("."));
}
