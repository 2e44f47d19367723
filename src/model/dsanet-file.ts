import { readFile } from "node:fs/promises";
import { z } from "zod";
import { readOnnxWeights, type OnnxFloats } from "../convert/onnx-read.js";
import { UserError } from "../errors.js";

/*
 * A DSANet as training/export.py ships it: one ONNX file whose initializers are the weights,
 * named by their PyTorch state-dict keys (kernels in ONNX's OIHW layout), and whose metadata
 * holds the DSANetConfig. The onnx engine runs the file's graph; what reads the weights
 * themselves (the tfjs engine) reads them here.
 */

/** The metadata_props key under which training/export.py writes the DSANetConfig (training/common.py's ONNX_CONFIG_KEY). */
const CONFIG_KEY = "dsanet.config";

/** training/dsanet.py's DSANetConfig, as export.py writes it. */
const DsanetConfig = z.object({
  scales: z.number().int().min(1).max(3),
  channels: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
  blocks: z.number().int().min(0),
  attention: z.boolean(),
  block: z.string(),
  bottleneck_norm: z.boolean(),
  /** Files exported before it was an option have none: the paper's output, 0. */
  deadzone: z.number().min(0).default(0),
});

export type DsanetConfig = z.infer<typeof DsanetConfig>;

/** The config and weights of an exported DSANet, or an error naming the file and what to do. */
export async function readDsanetFile(path: string): Promise<{ config: DsanetConfig; weights: ReadonlyMap<string, OnnxFloats> }> {
  const bytes = await readFile(path);
  const { metadata, floats } = named(path, () => readOnnxWeights(bytes));
  const json = metadata.get(CONFIG_KEY);
  if (json === undefined) throw new UserError(`${path}: no ${CONFIG_KEY} in its metadata, so not a DSANet export the tfjs engine can rebuild; re-export it with training/export.py, or run it with --engine onnx`);
  const config = DsanetConfig.safeParse(named(path, () => JSON.parse(json) as unknown));
  if (!config.success) throw new UserError(`${path}: its ${CONFIG_KEY} is not a DSANetConfig (${config.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")})`);
  return { config: config.data, weights: floats };
}

/** `read()`'s result, or its error with the file's name in front. */
function named<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
}
