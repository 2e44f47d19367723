/** The engine worker: one Engine, loaded and run in a worker thread (see worker-engine.ts). */
import type { Config } from "../config/schema.js";
import { serveInWorker } from "../threads/serve-in-worker.js";
import { loadEngine } from "./create-engine.js";
import type { EngineState } from "./engine.js";
import type { EngineDescription, WorkerOutput } from "./worker-engine.js";

serveInWorker(async (options: Config["engine"]) => {
  const engine = await loadEngine(options);
  // Carried states stay here, next to the engine; the caller holds their numbers.
  const states = new Map<number, EngineState>();
  let nextState = 0;
  return {
    describe: (): EngineDescription => ({ name: engine.name, layout: engine.layout, stride: engine.stride, scales: engine.scales, bytesPerPixel: engine.bytesPerPixel }),
    run: async (image: Float32Array, height: number, width: number, state: number | null): Promise<WorkerOutput> => {
      const out = await engine.run(image, height, width, state === null ? null : (states.get(state) ?? null));
      states.set(nextState, out.state);
      return { image: out.image, state: nextState++ };
    },
    dispose: (state: number) => {
      states.get(state)?.dispose();
      states.delete(state);
    },
    close: () => engine.close(),
  };
});
