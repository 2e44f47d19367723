import { join } from "node:path";
import { HlsWriter } from "../../sinks/hls.js";
import type { OutputSpec } from "../frame-output.js";

/** The camera's deblurred stream as HLS in `folder/<stream>/`, served by the viewer's server; latest-only. */
export function hlsOutput(options: { readonly stream: string; readonly folder: string; readonly crf: number }): OutputSpec {
  return {
    name: "hls",
    title: "HLS",
    buffer: 1,
    oneSize: true,
    open: async (width, height) => {
      const writer = await HlsWriter.start(join(options.folder, options.stream), options.stream, options.crf, width, height);
      return { write: ({ sharp }) => writer.write(sharp), close: () => writer.close() };
    },
  };
}
