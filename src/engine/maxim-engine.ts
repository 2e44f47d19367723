import { padded, type Engine, type EngineInput, type EngineOutput } from "./engine.js";
import { convertedMaxim, MAXIM, type Precision } from "../model/maxim.js";
import { createOnnxEngine, type OnnxProvider } from "./onnx-engine.js";

/**
 * Peak memory of a MAXIM inference per padded pixel on onnxruntime's CPU provider, without
 * the memory pattern (onnx-engine.ts): the package's 340x340 fixture (384x384 padded) peaked
 * at 3.75 GB RSS through the CLI, conversion included; a bare 640x384 session at 5.33 GiB over
 * two frames: 23 KB a pixel, rounded up. 1280x720 whole would need some 24 GB: such frames run
 * in tiles (memory.ts).
 */
export const MAXIM_BYTES_PER_PIXEL = 24_000;

/**
 * Motion-gated regions run in tiles of one size, 128x128: one more graph to convert (a few
 * seconds), and a walker at surveillance resolutions fits one or two, with context around.
 */
const MAXIM_REGION_TILE = 128;

export interface MaximEngineOptions {
  /** Stop after this many of its stages (1-3): each already gives a deblurred image, at a third of the cost each. */
  readonly stages: number;
  readonly threads: number;
  readonly provider: OnnxProvider;
  /** int8: dense layers' products in 8-bit integers (src/convert/quantize-dense.ts); default fp32. */
  readonly precision?: Precision;
  /** Where the first use of a frame size says it converts the graph (tens of seconds). */
  readonly progress: (line: string) => void;
}

/**
 * MAXIM on the onnx engine: one converted graph, and one session, per padded frame size, made
 * on the first frame of that size (a video has one; tiles have one more at most).
 */
export async function createMaximEngine(options: MaximEngineOptions): Promise<Engine> {
  const sessions = new Map<string, Promise<Engine>>();
  // One inference at a time: each already uses every core, and each holds gigabytes. Frames
  // in flight (deblur.slots) wait here rather than multiply the memory.
  let queue: Promise<unknown> = Promise.resolve();
  const engineFor = (height: number, width: number): Promise<Engine> => {
    const [h, w] = [padded(height, MAXIM.stride), padded(width, MAXIM.stride)];
    const key = `${w}x${h}`;
    let engine = sessions.get(key);
    if (!engine) {
      engine = convertedMaxim(h, w, options.stages, options.progress, options.precision).then((model) =>
        createOnnxEngine({ model, scales: 1, stride: MAXIM.stride, bytesPerPixel: MAXIM_BYTES_PER_PIXEL, threads: options.threads, provider: options.provider, memoryPattern: false }),
      );
      sessions.set(key, engine);
    }
    return engine;
  };
  const stages = options.stages === MAXIM.stages ? "" : ` (${options.stages} of its ${MAXIM.stages} stages)`;
  const int8 = options.precision === "int8" ? ", int8" : "";
  const name = `maxim-3s${stages} on onnx (${options.provider}${int8})`;
  return {
    name,
    stride: MAXIM.stride,
    scales: 3,
    carriesState: false,
    bytesPerPixel: MAXIM_BYTES_PER_PIXEL,
    regionTile: MAXIM_REGION_TILE,
    run(inputs: readonly EngineInput[], height: number, width: number): Promise<EngineOutput[]> {
      const result = queue.then(async () => {
        const engine = await engineFor(height, width);
        // The graph is converted for one image at a time: a batch (a frame's regions) runs row by row.
        const outputs: EngineOutput[] = [];
        for (const input of inputs) outputs.push(...(await engine.run([input], height, width)));
        return outputs;
      });
      queue = result.catch(() => undefined);
      return result;
    },
    async close(): Promise<void> {
      const engines = await Promise.allSettled(sessions.values());
      sessions.clear();
      await Promise.all(engines.flatMap((e) => (e.status === "fulfilled" ? [e.value.close()] : [])));
    },
  };
}
