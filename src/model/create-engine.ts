import type { Config } from "../config/schema.js";
import { WorkerClient } from "../threads/worker-client.js";
import { existingModelFile } from "./load-engine.js";
import type { Engine, EngineOutput, EngineState } from "./engine.js";
import type { EngineDescription, WorkerOutput } from "./engine-worker.js";

/** A carried state that lives in the worker, next to its engine. */
class WorkerState implements EngineState {
  constructor(
    private readonly worker: WorkerClient,
    readonly id: number,
  ) {}
  dispose(): void {
    // Fire and forget: calls run in order, so a later frame never sees this state.
    this.worker.call("dispose", [this.id]).catch(() => undefined);
  }
}

/**
 * The engine a config asks for (`loadEngine`), in a worker thread of its own: inference never
 * blocks the event loop that reads the cameras. Its side of the thread is engine-worker.ts.
 */
export async function createEngine(options: Config["engine"]): Promise<Engine> {
  existingModelFile(options); // here, where a bad model is still a ConfigError the CLI reports in one line
  const worker = await WorkerClient.start(new URL(`./engine-worker${extension()}`, import.meta.url), options, "engine");
  const description = await worker.call<EngineDescription>("describe", []);
  return {
    ...description,
    async run(image: Float32Array, height: number, width: number, state: EngineState | null): Promise<EngineOutput> {
      const previous = state instanceof WorkerState ? state.id : null;
      // The input is the caller's scratch copy: move it rather than copy it, where it owns its buffer.
      const owned = image.buffer instanceof ArrayBuffer && image.byteLength === image.buffer.byteLength;
      const out = await worker.call<WorkerOutput>("run", [image, height, width, previous], owned ? [image.buffer] : []);
      return { image: out.image, state: new WorkerState(worker, out.state) };
    },
    close: () => worker.close(),
  };
}

/** ".ts" when running from source, ".js" once built. */
function extension(): string {
  return import.meta.url.slice(import.meta.url.lastIndexOf("."));
}
