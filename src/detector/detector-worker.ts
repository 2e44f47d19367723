/** The detector worker: CenterNet loaded and run in a worker thread (see start-detector.ts). */
import { serveInWorker } from "../threads/serve-in-worker.js";
import type { Frame } from "../types.js";
import { CenternetDetector } from "./centernet.js";
import type { DetectorOptions } from "./detector.js";

serveInWorker(async (options: DetectorOptions) => {
  const detector = await CenternetDetector.load(options);
  return {
    backend: () => detector.backend,
    detect: (frame: Frame) => detector.detect(frame),
    close: () => detector.close(),
  };
});
