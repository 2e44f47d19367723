import { parseConfig } from "../../src/config/load.js";
import type { DeblurFileOptions } from "../../src/pipeline/deblur-file.js";
import type { Engine } from "../../src/engine/engine.js";

/** The config's deblur section as shipped: the state carried, whole frames, regions off. */
export const DEBLUR_DEFAULTS = parseConfig({}, "defaults").deblur;

/** deblurFile's options as the file tests run it: the state carried, no tiling, a fast encoder. */
export function deblurFileOptions(engine: Engine, input: string, output: string): DeblurFileOptions {
  return {
    input,
    output,
    engine,
    ...DEBLUR_DEFAULTS,
    slots: 3,
    encode: { codec: "libx264", crf: 12, preset: "veryfast", lossless: false },
  };
}
