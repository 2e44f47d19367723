import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../config/load.js";
import type { Config } from "../config/schema.js";
import type { Engine } from "./engine.js";
import { createMaximEngine } from "./maxim-engine.js";
import { MAXIM, maximModelJson } from "./maxim.js";
import { createOnnxEngine } from "./onnx-engine.js";
import { createTfjsEngine } from "./tfjs-engine.js";

/** The repository's models/ folder, from src/model or dist/model alike. */
export const MODELS_DIR = fileURLToPath(new URL("../../models/", import.meta.url));

/**
 * The weights that ship in models/, by the name `--model` takes: DSANet for quality,
 * DSANet-Lite (narrower, one block a stage, two scales) for real time on a CPU. Each lives
 * once, in its ONNX file: the onnx engine runs its graph, the tfjs engine reads its weights.
 */
export const SHIPPED_MODELS = {
  full: { export: "dsanet", onnx: "dsanet.onnx", scales: 3 },
  lite: { export: "dsanet-lite", onnx: "dsanet-lite.onnx", scales: 2 },
} as const;

export type ShippedModel = keyof typeof SHIPPED_MODELS;

export function isShippedModel(model: string): model is ShippedModel {
  return Object.hasOwn(SHIPPED_MODELS, model);
}

/** The file an engine loads, and with how many scales (null: what the file's config says, on tfjs). */
export interface ModelFile {
  readonly path: string;
  readonly scales: number | null;
}

/**
 * Where the config's model lives. An ONNX graph fixes K when exported: on the onnx engine, K
 * other than the one the weights were trained with (3 for weights of your own) is a file of
 * its own, NAME-kK.onnx; the tfjs engine runs any K from the weights of the trained K's file.
 */
export function modelFile(engine: Pick<Config["engine"], "type" | "model" | "scales">): ModelFile {
  const shipped = isShippedModel(engine.model) ? SHIPPED_MODELS[engine.model] : null;
  const path = shipped ? `${MODELS_DIR}${shipped.onnx}` : engine.model;
  if (engine.type === "tfjs") return { path, scales: engine.scales ?? shipped?.scales ?? null };
  const trained = shipped?.scales ?? 3;
  const scales = engine.scales ?? trained;
  return { path: scales === trained ? path : path.replace(/\.onnx$/, `-k${scales}.onnx`), scales };
}

/** `--model maxim`: the published MAXIM-3S, converted from its npm package on first use (maxim.ts). */
export const MAXIM_MODEL = "maxim";

/** The config's model file, or a ConfigError naming the field and what would make the file. */
export function existingModelFile(engine: Pick<Config["engine"], "type" | "model" | "scales" | "stages">): ModelFile {
  if (engine.model === MAXIM_MODEL) return maximFile(engine);
  if (engine.stages !== null) throw new ConfigError(`engine.stages: only maxim has stages (--model maxim); DSANet's depth is its scales (--scales)`);
  const file = modelFile(engine);
  if (existsSync(file.path)) return file;
  const shipped = isShippedModel(engine.model) ? SHIPPED_MODELS[engine.model] : null;
  const hint = !shipped
    ? `--model takes ${Object.keys(SHIPPED_MODELS).join(", ")} or the path of an .onnx file`
    : file.scales === shipped.scales
      ? `it ships with the repository: git checkout -- models/${shipped.onnx}`
      : `export it with: python3 training/export.py --weights models/${shipped.onnx} --name ${shipped.export} --scales ${file.scales}`;
  throw new ConfigError(`engine.model: ${file.path}: no such model; ${hint}`);
}

/** MAXIM's npm graph (converted per frame size when run), or a ConfigError saying what is missing. */
function maximFile(engine: Pick<Config["engine"], "type" | "scales">): ModelFile {
  if (engine.type !== "onnx") throw new ConfigError(`engine.model: maxim runs on the onnx engine (--engine onnx), not ${engine.type}`);
  if (engine.scales !== null) throw new ConfigError(`engine.scales: maxim has no scales option (its 3 stages are fixed); leave --scales out`);
  try {
    return { path: maximModelJson(), scales: null };
  } catch (error) {
    throw new ConfigError(`engine.model: ${(error as Error).message}`);
  }
}

/**
 * The engine a config asks for, on this thread: its inference blocks this thread's event loop.
 * `createEngine` runs it in a worker.
 */
export async function loadEngine(options: Config["engine"]): Promise<Engine> {
  const { path, scales } = existingModelFile(options);
  if (options.model === MAXIM_MODEL) {
    const stages = options.stages ?? MAXIM.stages;
    return createMaximEngine({ stages, threads: options.threads, provider: options.provider, progress: (line) => process.stderr.write(`${line}\n`) });
  }
  if (options.type === "tfjs") return createTfjsEngine({ model: path, scales, backend: options.backend });
  return createOnnxEngine({ model: path, scales: scales ?? 3, threads: options.threads, provider: options.provider });
}
