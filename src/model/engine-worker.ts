/** The engine's worker thread: one Engine, loaded and run here for `createEngine` (create-engine.ts). */
import type { Config } from "../config/schema.js";
import { Moved, serveInWorker } from "../threads/serve-in-worker.js";
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
    run: async (image: Float32Array, height: number, width: number, state: number | null): Promise<Moved<WorkerOutput>> => {
      const out = await engine.run(image, height, width, state === null ? null : (states.get(state) ?? null));
      states.set(nextState, out.state);
      // The image in a buffer of its own, moved to the caller: cloning the engine's buffer into
      // the message cost 12 ms a 1280x720 frame, copying and moving it 3 ms. The engine's buffer
      // stays with its tensor, whoever owns that memory.
      const sharp = out.image.slice();
      return new Moved({ image: sharp, state: nextState++ }, [sharp.buffer]);
    },
    dispose: (state: number) => {
      states.get(state)?.dispose();
      states.delete(state);
    },
    close: () => engine.close(),
  };
});
