import type { Config } from "../config/schema.js";
import { WorkerClient } from "../threads/worker-client.js";
import { existingModelFile } from "../model/registry.js";
import type { Engine, EngineInput, EngineOutput, EngineState } from "./engine.js";
import type { EngineDescription, WorkerOutput } from "./engine-worker.js";
import { findWebGpuAdapter } from "./webgpu.js";

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
 * The engine a config asks for (`loadEngineOnThisThread`), in a worker thread of its own: inference never
 * blocks the event loop that reads the cameras. Its side of the thread is engine-worker.ts.
 */
export async function loadEngineInWorker(options: Config["engine"]): Promise<Engine> {
  // Here, where a bad model or a missing GPU driver is still a ConfigError the CLI reports in one line.
  existingModelFile(options);
  if (options.type === "onnx" && options.provider === "webgpu") await findWebGpuAdapter();
  const worker = await WorkerClient.start(new URL(`./engine-worker${extension()}`, import.meta.url), options, "engine");
  const description = await worker.call<EngineDescription>("describe", []);
  return {
    ...description,
    async run(inputs: readonly EngineInput[], height: number, width: number): Promise<EngineOutput[]> {
      const frames = inputs.map((input) => input.rgb);
      const previous = inputs.map(({ state }) => (state instanceof WorkerState ? state.id : null));
      // The inputs are the callers' scratch copies: move them rather than copy them, where each owns its buffer.
      const owned = frames.flatMap(({ buffer, byteLength }) => (buffer instanceof ArrayBuffer && byteLength === buffer.byteLength ? [buffer] : []));
      const out = await worker.call<WorkerOutput>("run", [frames, previous, height, width], owned);
      return out.frames.map((rgb, i) => ({ rgb, state: new WorkerState(worker, out.states[i] as number) }));
    },
    close: () => worker.close(),
  };
}

/** ".ts" when running from source, ".js" once built. */
function extension(): string {
  return import.meta.url.slice(import.meta.url.lastIndexOf("."));
}
