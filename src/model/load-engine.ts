import { fileURLToPath } from "node:url";
import type { Config } from "../config/schema.js";
import type { Engine } from "./engine.js";
import { createOnnxEngine } from "./onnx-engine.js";
import { createTfjsEngine } from "./tfjs-engine.js";

/** The repository's models/ folder, from src/model or dist/model alike. */
export const MODELS_DIR = fileURLToPath(new URL("../../models/", import.meta.url));

export function defaultModel(type: Config["engine"]["type"]): string {
  return type === "onnx" ? `${MODELS_DIR}dsanet.onnx` : `${MODELS_DIR}tfjs/model.json`;
}

/**
 * The engine a config asks for, with the shipped weights unless it names others, on this
 * thread: its inference blocks this thread's event loop. `createEngine` runs it in a worker.
 */
export function loadEngine(options: Config["engine"]): Promise<Engine> {
  const model = options.model ?? defaultModel(options.type);
  return options.type === "onnx"
    ? createOnnxEngine({ model, scales: options.scales, threads: options.threads, provider: options.provider })
    : createTfjsEngine({ model, scales: options.scales, backend: options.backend });
}
