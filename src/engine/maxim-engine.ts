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
 * Motion-gated regions run on sheets of at most 256x256 (MAXIM's training crops) in multiples
 * of 64: at most 16 sizes, each a graph converted once (1.5-3 s, cached on disk) and a session
 * (1 s). MAXIM's cost per pixel is nearly flat over those sizes (2-core Xeon, 2026-12-06: 39 us
 * a pixel at 64x64, 35 at 128x128, 37 at 256x256, 38 at 320x256), so the sheets, packed with
 * the areas and their context (src/deblur/sheets.ts), cost about what moved.
 */
const MAXIM_REGION_TILE_LIMIT = 256;

/**
 * MAXIM's context around a region (Engine.regionContext): each of its pixels costs seconds.
 * 12 frames each of two 384x288 stretches of vtest.avi and of the demo sample (the moving areas'
 * gain over the input, 2-core Xeon, 2026-12-06): the 128x128 tiles before, +2.34 / +0.31 / +3.58
 * dB on 40.7 / 39.5 / 18.7% of the pixels; 8 pixels on packed sheets, +2.35 / +0.28 / +3.53 on
 * 30.9 / 29.3 / 16.7%; 16, +2.36 / -0.04 / +3.39 on 39.2 / 34.6 / 22.9%. Each area on a sheet
 * of its own, padded to the stride with its edge repeated (nhwc-pixels.ts), lost 0.16-0.75 dB on the
 * vtest stretches at either context.
 */
const MAXIM_REGION_CONTEXT = 8;

/**
 * Sessions kept open, the least recently used closed first: the whole frame's and the region
 * sizes in use. Each holds its weights (0.12 GB) and what its arena grew to (0.2 GB at 128x128).
 */
const SESSIONS_KEPT = 8;

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
 * MAXIM on the onnx engine: one converted graph, and one session, per padded input size, made
 * on the first frame or region of that size (a video has one frame size; its regions a few more).
 */
export async function createMaximEngine(options: MaximEngineOptions): Promise<Engine> {
  const sessions = new Map<string, Promise<Engine>>();
  // One inference at a time: each already uses every core, and each holds gigabytes. Frames
  // in flight (deblur.slots) wait here rather than multiply the memory.
  let queue: Promise<unknown> = Promise.resolve();
  const engineFor = async (height: number, width: number): Promise<Engine> => {
    const [h, w] = [padded(height, MAXIM.stride), padded(width, MAXIM.stride)];
    const key = `${w}x${h}`;
    const engine =
      sessions.get(key) ??
      convertedMaxim(h, w, options.stages, options.progress, options.precision).then((model) =>
        createOnnxEngine({ model, scales: 1, stride: MAXIM.stride, bytesPerPixel: MAXIM_BYTES_PER_PIXEL, threads: options.threads, provider: options.provider, memoryPattern: false }),
      );
    // The map's order is the order of use: this size goes last, the first is the least recent.
    sessions.delete(key);
    sessions.set(key, engine);
    for (const [stale, session] of sessions) {
      if (sessions.size <= SESSIONS_KEPT) break;
      sessions.delete(stale);
      await session.then((e) => e.close(), () => undefined);
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
    regionTileLimit: MAXIM_REGION_TILE_LIMIT,
    regionContext: MAXIM_REGION_CONTEXT,
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
