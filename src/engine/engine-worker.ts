/** The engine's worker thread: one Engine, loaded and run here for `loadEngineInWorker` (create-engine.ts). */
import type { Config } from "../config/schema.js";
import { Moved, serveInWorker } from "../threads/serve-in-worker.js";
import type { Engine, EngineState } from "./engine.js";
import { loadEngineOnThisThread } from "./load-engine.js";

export type EngineDescription = Pick<Engine, "name" | "stride" | "scales" | "carriesState" | "bytesPerPixel" | "regionTileLimit" | "regionContext">;

/** What the worker returns for a batch: the frames, and the numbers of their new states. */
export interface WorkerOutput {
  readonly frames: Uint8Array[];
  readonly states: number[];
}

serveInWorker(async (options: Config["engine"]) => {
  const engine = await loadEngineOnThisThread(options);
  // Carried states stay here, next to the engine; the caller holds their numbers.
  const states = new Map<number, EngineState>();
  let nextState = 0;
  return {
    describe: (): EngineDescription => ({ name: engine.name, stride: engine.stride, scales: engine.scales, carriesState: engine.carriesState, bytesPerPixel: engine.bytesPerPixel, regionTileLimit: engine.regionTileLimit, regionContext: engine.regionContext }),
    run: async (frames: Uint8Array[], previous: (number | null)[], height: number, width: number): Promise<Moved<WorkerOutput>> => {
      const inputs = frames.map((rgb, i) => ({ rgb, state: states.get(previous[i] ?? -1) ?? null }));
      const outputs = await engine.run(inputs, height, width);
      // Each frame in a buffer of its own, moved to the caller: cloning the engine's buffer into
      // the message cost 12 ms a 1280x720 float frame, copying and moving it 3 ms. The engine's
      // buffer stays with its tensor, whoever owns that memory.
      const sharp = outputs.map((out) => out.rgb.slice());
      const numbers = outputs.map((out) => {
        states.set(nextState, out.state);
        return nextState++;
      });
      return new Moved({ frames: sharp, states: numbers }, sharp.map((rgb) => rgb.buffer));
    },
    dispose: (state: number) => {
      states.get(state)?.dispose();
      states.delete(state);
    },
    close: () => engine.close(),
  };
});
