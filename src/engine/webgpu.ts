import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import type ort from "onnxruntime-node";
import { ConfigError } from "../errors.js";

/**
 * onnxruntime-node's bundled WebGPU provider (Dawn on Vulkan, on linux x64), as the engine runs it.
 * NCHW: with the provider's default layout, NHWC, its convolutions of 6, 9 or 18 input channels
 * computed wrong on Mesa's lavapipe (DSANet's first convolution takes 6: the blurred frame and
 * the coarser scale's restored one), and DSANet-Lite's frames came out up to 9 levels off the CPU
 * provider's on 68% of their bytes. In NCHW every layer matches the CPU provider to float
 * rounding and the frames to the byte.
 */
export const WEBGPU_PROVIDER: ort.InferenceSession.WebGpuExecutionProviderOption = { name: "webgpu", preferredLayout: "NCHW" };

/** The GPU that Dawn's Vulkan backend offers, as the Vulkan loader names it. */
export interface WebGpuAdapter {
  /** e.g. "NVIDIA H200", or "llvmpipe (LLVM 15.0.6, 256 bits)" for Mesa's software Vulkan. */
  readonly device: string;
  readonly backend: "Vulkan";
  /** Mesa's lavapipe: Vulkan run on the CPU's cores, for tests rather than speed. */
  readonly software: boolean;
}

/** "NVIDIA H200, Vulkan", or the software adapter said as such. */
export function describeAdapter(adapter: WebGpuAdapter): string {
  return `${adapter.device}, ${adapter.backend}${adapter.software ? ", software on the CPU" : ""}`;
}

// A one-node graph (Relu on a float[1]): creating its session on the provider makes Dawn pick its adapter.
const PROBE_GRAPH = "CAgSDWRzYW5ldC1zdHJlYW06MwoMCgF4EgF5IgRSZWx1EgFnWg8KAXgSCgoICAESBAoCCAFiDwoBeRIKCggIARIECgIIAUIECgAQEQ==";
const PROBE_TIMEOUT_MS = 60_000;
const SOFTWARE_DEVICES = /^(llvmpipe|lavapipe|SwiftShader)/i;

let probed: Promise<WebGpuAdapter> | null = null;

/**
 * The adapter the webgpu provider would run on, or a ConfigError naming what is missing.
 * onnxruntime-node tells neither the adapter it picked nor (beyond stderr) why it found none, so a
 * child process creates a WebGPU session with the Vulkan loader's driver log on and is read back:
 * the error stays one line and Dawn's warnings stay out of this process's output. Once a thread.
 */
export function findWebGpuAdapter(): Promise<WebGpuAdapter> {
  probed ??= probe();
  return probed;
}

async function probe(): Promise<WebGpuAdapter> {
  const binding = createRequire(import.meta.url).resolve("onnxruntime-node");
  const script = [
    `const ort = require(${JSON.stringify(binding)});`,
    `ort.InferenceSession.create(Buffer.from(${JSON.stringify(PROBE_GRAPH)}, "base64"), { executionProviders: ["webgpu"] })`,
    `  .then(() => process.exit(0), (error) => { console.error("PROBE-ERROR " + String(error.message).split("\\n")[0]); process.exit(3); });`,
  ].join("\n");
  const { code, stderr } = await run(process.execPath, ["-e", script], { ...process.env, VK_LOADER_DEBUG: "driver" });
  const devices = sortedDevices(stderr);
  const device = devices.find((name) => !SOFTWARE_DEVICES.test(name)) ?? devices[0];
  if (code === 0 && device) return { device, backend: "Vulkan", software: SOFTWARE_DEVICES.test(device) };
  throw new ConfigError(`engine.provider: webgpu: no WebGPU adapter (${whyNone(stderr, code)}); ${WEBGPU_NEEDS}, or use --provider cpu`);
}

/** What a machine needs for the webgpu provider; the README's "GPU" section says more. */
const WEBGPU_NEEDS =
  "it needs a Vulkan loader and driver: a GPU's driver and libvulkan1, or on Debian 12 Mesa 25's software Vulkan: " +
  "apt install -t bookworm-backports mesa-vulkan-drivers libvulkan1 (README, \"GPU\")";

/** The physical devices in the loader's "Sorted order:" list: `[0] NVIDIA H200`. */
function sortedDevices(log: string): string[] {
  const lines = log.split("\n");
  const start = lines.findIndex((line) => line.includes("Sorted order:"));
  if (start < 0) return [];
  const devices: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const match = /\[\d+\]\s+(.+?)\s*$/.exec(line);
    if (!match?.[1]) break;
    devices.push(match[1]);
  }
  return devices;
}

function whyNone(log: string, code: number | null): string {
  if (/Couldn't load Vulkan|libvulkan\.so\.1/.test(log)) return "no Vulkan loader: libvulkan.so.1 not found";
  if (!log.includes("Found ICD manifest file")) return "no Vulkan driver (ICD) installed";
  const dawn = /Failed to get a WebGPU (?:adapter|device): ?(.*)$/m.exec(log);
  if (dawn) return `Dawn: ${dawn[1]?.trim() || "no adapter"}`;
  const error = /^PROBE-ERROR (.*)$/m.exec(log)?.[1];
  return error ?? `the probe exited with code ${code}`;
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "ignore", "pipe"], timeout: PROBE_TIMEOUT_MS });
    const chunks: Buffer[] = [];
    child.stderr.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr: Buffer.concat(chunks).toString("utf8") }));
  });
}
