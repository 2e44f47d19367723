/** The engine's worker thread: one Engine, loaded and run here for `createEngine` (create-engine.ts). */
import type { Config } from "../config/schema.js";
import { serveInWorker } from "../threads/serve-in-worker.js";
import type { Engine, EngineState } from "./engine.js";
import { loadEngine } from "./load-engine.js";

export type EngineDescription = Pick<Engine, "name" | "layout" | "stride" | "scales" | "bytesPerPixel">;

/** What the worker returns for one frame: the image, and the number of its new state. */
export interface WorkerOutput {
  readonly image: Float32Array;
  readonly state: number;
}

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
