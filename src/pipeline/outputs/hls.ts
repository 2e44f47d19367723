import { join } from "node:path";
import { HlsWriter, hlsMuxer } from "../../sinks/hls.js";
import type { Frame } from "../../types.js";
import type { OutputSpec } from "../frame-output.js";
import type { LiveFrame } from "../live.js";
import type { EncodedOutput } from "./shared-encoder.js";

export interface HlsOutputOptions {
  readonly stream: string;
  /** Where every stream's HLS folder is: this one's is `<folder>/<stream>/`. */
  readonly folder: string;
  readonly crf: number;
  /** What of a deblurred frame is streamed: the sharp frame, with the detector's boxes if they are burnt in (as RTSP out). */
  readonly picture: (frame: LiveFrame) => Frame;
}

/** The camera's deblurred stream as HLS in `folder/<stream>/`, served by the viewer's server; latest-only. */
export function hlsOutput(options: HlsOutputOptions): OutputSpec {
  return {
    name: "hls",
    title: "HLS",
    buffer: 1,
    oneSize: true,
    open: async (width, height) => {
      const writer = await HlsWriter.start(join(options.folder, options.stream), options.stream, options.crf, width, height);
      return { write: (frame) => writer.write(options.picture(frame)), close: () => writer.close() };
    },
  };
}

/** HLS as a leg of an encoder it shares with other outputs (see sharedEncoder). */
export function hlsLeg(options: HlsOutputOptions): EncodedOutput {
  return { spec: hlsOutput(options), muxer: () => hlsMuxer(join(options.folder, options.stream)), remote: false };
}
