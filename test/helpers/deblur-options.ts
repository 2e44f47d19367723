import type { DeblurFileOptions } from "../../src/pipeline/deblur-file.js";
import type { Engine } from "../../src/engine/engine.js";

/** deblurFile's options as the file tests run it: the state carried, no tiling, a fast encoder. */
export function deblurFileOptions(engine: Engine, input: string, output: string): DeblurFileOptions {
  return {
    input,
    output,
    engine,
    carryState: true,
    tile: null,
    overlap: 32,
    memoryLimitMB: null,
    regions: "off",
    slots: 3,
    encode: { codec: "libx264", crf: 12, preset: "veryfast", lossless: false },
  };
}
