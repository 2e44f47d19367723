import { redact } from "../../redact.js";
import { RtspPublisher, rtspMuxer } from "../../sinks/rtsp-publish.js";
import type { Frame } from "../../types.js";
import type { OutputSpec } from "../frame-output.js";
import type { LiveFrame } from "../live.js";
import type { EncodedOutput } from "./shared-encoder.js";

export interface PublishOptions {
  readonly stream: string;
  /** The RTSP server's URL for this camera (credentials never reach a log). */
  readonly url: string;
  readonly transport: "tcp" | "udp";
  readonly stallTimeoutMs: number;
  readonly crf: number;
  readonly picture: (frame: LiveFrame) => Frame;
}

/**
 * The camera's deblurred stream pushed to an RTSP server (MediaMTX, go2rtc, Frigate's restream).
 * Latest-only, as a viewer: a slow or absent server costs one waiting frame, never the other
 * outputs. A session is up once the server has taken the stream, not at the first frame sent.
 */
export function publishOutput(options: PublishOptions): OutputSpec {
  return {
    name: "publish",
    title: `publishing to ${redact(options.url)}`,
    buffer: 1,
    oneSize: true,
    open: async (width, height) => {
      const { stream, url, transport, stallTimeoutMs, crf } = options;
      const publisher = await RtspPublisher.start({ stream, url, transport, stallTimeoutMs, crf, width, height });
      return { write: (frame) => publisher.write(options.picture(frame)), close: () => publisher.close(), up: publisher.up };
    },
  };
}

/** RTSP out as a leg of an encoder it shares with other outputs (see sharedEncoder): a remote leg, whose server can stall the encoder. */
export function publishLeg(options: PublishOptions): EncodedOutput {
  return { spec: publishOutput(options), muxer: async () => rtspMuxer(options.url, options.transport), remote: true };
}
