import type { Config } from "../config/schema.js";
import type { Engine } from "./engine.js";
import { createMaximEngine } from "./maxim-engine.js";
import { MAXIM } from "../model/maxim.js";
import { enginePrecision, existingModelFile, MAXIM_MODEL } from "../model/registry.js";
import { createOnnxEngine } from "./onnx-engine.js";
import { createTfjsEngine } from "./tfjs-engine.js";

/**
 * The engine a config asks for, on this thread: its inference blocks this thread's event loop.
 * `loadEngineInWorker` runs it in a worker.
 */
export async function loadEngineOnThisThread(options: Config["engine"]): Promise<Engine> {
  const { path, scales } = existingModelFile(options);
  const precision = enginePrecision(options);
  if (options.model === MAXIM_MODEL) {
    const stages = options.stages ?? MAXIM.stages;
    return createMaximEngine({ stages, threads: options.threads, provider: options.provider, precision, progress: (line) => process.stderr.write(`${line}\n`) });
  }
  if (options.type === "tfjs") return createTfjsEngine({ model: path, scales, backend: options.backend });
  return createOnnxEngine({ model: path, scales: scales ?? 3, threads: options.threads, provider: options.provider, precision });
}
