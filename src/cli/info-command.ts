import { Command } from "commander";
import { statSync } from "node:fs";
import ort from "onnxruntime-node";
import type { Config } from "../config/schema.js";
import { findFfmpeg, findFfprobe } from "../ffmpeg/locate.js";
import { loadEngineInWorker } from "../engine/engine-in-worker.js";
import { existingModelFile, MODELS } from "../model/registry.js";
import { ENGINE_FLAGS, withConfigOptions } from "./config-options.js";
import { resolveConfig } from "./resolve-config.js";

/** `dsanet info`: what would run, and with what. */
export function infoCommand(): Command {
  return withConfigOptions(new Command("info").description("show the engine, its providers, ffmpeg and the model"), [ENGINE_FLAGS]).action(async (_flags: unknown, command: Command) => {
    process.stdout.write(await describeInfo(await resolveConfig(command)));
  });
}

async function describeInfo(config: Config): Promise<string> {
  const [ffmpeg, ffprobe] = await Promise.all([findFfmpeg(), findFfprobe()]);
  // The file that runs: DSANet's int8 graph under `--precision auto` on a CPU with VNNI, AMX or AVX2;
  // MAXIM's npm graph (converted per frame size and precision into the cache when run). A missing one is a ConfigError.
  const file = existingModelFile(config.engine).path;
  const size = `${(statSync(file).size / 2 ** 20).toFixed(1)} MiB`;
  const engine = await loadEngineInWorker(config.engine);
  await engine.close();
  const providers = ort
    .listSupportedBackends()
    .map((b) => `${b.name}${b.bundled ? "" : " (needs its binaries installed)"}`)
    .join(", ");
  return [
    `engine:    ${engine.name}, ${engine.scales} scales, input stride ${engine.stride}`,
    `onnx:      onnxruntime-node ${ort.env.versions.node ?? "?"}, providers: ${providers}`,
    `model:     ${config.engine.model}: ${file} (${size})`,
    `ffmpeg:    ${ffmpeg.path} (${ffmpeg.origin}) ${ffmpeg.version}`,
    `ffprobe:   ${ffprobe.path} (${ffprobe.origin})`,
    `node:      ${process.version} on ${process.platform}-${process.arch}`,
    "models (--model):",
    ...Object.entries(MODELS).map(([name, m]) => `  ${name.padEnd(6)} ${m.title}: ${m.parameters.toLocaleString("en-US")} parameters, ${m.flops640x360} FLOPs at 640x360, ${m.license}; ${m.source}`),
    "",
  ].join("\n");
}
