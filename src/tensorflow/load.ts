import type * as tfjs from "@tensorflow/tfjs";
import { UserError } from "../errors.js";

export type Tf = typeof tfjs;
export type TfjsBackend = "auto" | "tensorflow-gpu" | "tensorflow" | "wasm";

/**
 * Load TensorFlow.js on the best backend present: @tensorflow/tfjs-node-gpu, then
 * @tensorflow/tfjs-node (both optional: their installs download libtensorflow), then the
 * wasm backend that ships inside npm.
 */
export function loadTensorflow(backend: TfjsBackend): Promise<{ tf: Tf; backendName: string }> {
  let loading = loaded.get(backend);
  if (!loading) {
    loading = load(backend);
    loaded.set(backend, loading);
  }
  return loading;
}

const loaded = new Map<TfjsBackend, Promise<{ tf: Tf; backendName: string }>>();

async function load(backend: TfjsBackend): Promise<{ tf: Tf; backendName: string }> {
  const native: [TfjsBackend, string][] = [
    ["tensorflow-gpu", "@tensorflow/tfjs-node-gpu"],
    ["tensorflow", "@tensorflow/tfjs-node"],
  ];
  const failures: string[] = [];
  for (const [name, pkg] of native) {
    if (backend !== "auto" && backend !== name) continue;
    try {
      const tf = (await import(pkg)) as Tf;
      await tf.ready();
      return { tf, backendName: name };
    } catch (error) {
      failures.push(`${pkg}: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  if (backend === "auto" || backend === "wasm") {
    const tf = await import("@tensorflow/tfjs");
    await import("@tensorflow/tfjs-backend-wasm");
    await tf.setBackend("wasm");
    await tf.ready();
    return { tf, backendName: "wasm" };
  }
  throw new UserError(`tfjs backend '${backend}' is not installed (${failures.join("; ")}); npm install ${native.find(([n]) => n === backend)?.[1]}`);
}
