/** The engine's worker thread: one Engine, loaded and run here for `createEngine` (create-engine.ts). */
import type { Config } from "../config/schema.js";
import { Moved, serveInWorker } from "../threads/serve-in-worker.js";
import type { Engine, EngineState } from "./engine.js";
import { loadEngine } from "./load-engine.js";

export type EngineDescription = Pick<Engine, "name" | "layout" | "stride" | "scales" | "bytesPerPixel">;

/** What the worker returns for a batch: the images, and the numbers of their new states. */
export interface WorkerOutput {
  readonly images: Float32Array[];
  readonly states: number[];
}

serveInWorker(async (options: Config["engine"]) => {
  const engine = await loadEngine(options);
  // Carried states stay here, next to the engine; the caller holds their numbers.
  const states = new Map<number, EngineState>();
  let nextState = 0;
  return {
    describe: (): EngineDescription => ({ name: engine.name, layout: engine.layout, stride: engine.stride, scales: engine.scales, bytesPerPixel: engine.bytesPerPixel }),
    run: async (images: Float32Array[], previous: (number | null)[], height: number, width: number): Promise<Moved<WorkerOutput>> => {
      const inputs = images.map((image, i) => ({ image, state: states.get(previous[i] ?? -1) ?? null }));
      const outputs = await engine.run(inputs, height, width);
      // Each image in a buffer of its own, moved to the caller: cloning the engine's buffer into
      // the message cost 12 ms a 1280x720 frame, copying and moving it 3 ms. The engine's buffer
      // stays with its tensor, whoever owns that memory.
      const sharp = outputs.map((out) => out.image.slice());
      const numbers = outputs.map((out) => {
        states.set(nextState, out.state);
        return nextState++;
      });
      return new Moved({ images: sharp, states: numbers }, sharp.map((image) => image.buffer));
    },
    dispose: (state: number) => {
      states.get(state)?.dispose();
      states.delete(state);
    },
    close: () => engine.close(),
  };
});
