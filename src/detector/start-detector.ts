import { WorkerClient } from "../threads/worker-client.js";
import type { Detection, Frame } from "../types.js";
import type { Detector, DetectorOptions } from "./detector.js";

/**
 * The COCO detector in a worker thread of its own: TensorFlow.js blocks the thread it runs on,
 * and here that is not the thread feeding the file, the viewers and the model.
 */
export async function startDetector(options: DetectorOptions): Promise<Detector> {
  const extension = import.meta.url.slice(import.meta.url.lastIndexOf("."));
  const worker = await WorkerClient.start(new URL(`./detector-worker${extension}`, import.meta.url), options, "detector");
  return {
    backend: await worker.call<string>("backend", []),
    // The frame is copied: its pixels are shared with the file sink and the viewers.
    detect: (frame: Frame) => worker.call<Detection[]>("detect", [frame]),
    close: () => worker.close(),
  };
}
