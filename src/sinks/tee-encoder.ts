import { findFfmpeg } from "../ffmpeg/locate.js";
import type { Frame } from "../types.js";
import { FrameEncoder } from "./frame-encoder.js";
import { liveH264Args } from "./live-h264.js";
import { teeTarget, type Muxer } from "./muxer.js";

/** What libavformat/tee.c says when a slave with onfail=ignore fails, at its opening or at a packet: its number and why. */
const SLAVE_FAILED = /Slave muxer #(\d+) failed: (.*), continuing with \d+\/\d+ slaves\.$/;

export interface TeeEncoderOptions {
  /** What the messages call it: the stream's name. */
  readonly label: string;
  readonly width: number;
  readonly height: number;
  /** x264's constant rate factor. */
  readonly crf: number;
  /** Its legs, each a muxer fed the same packets: HLS, RTSP out. */
  readonly legs: readonly Muxer[];
}

/**
 * One ffmpeg that encodes a live stream once (liveH264Args) and muxes it to several outputs
 * through ffmpeg's tee muxer: x264 runs once where HLS and RTSP out would each run it. Each leg
 * fails alone (onfail=ignore): a lost RTSP server ends its leg while HLS goes on. ffmpeg says so
 * on stderr, naming the slave by its number ("[tee @ …] Slave muxer #1 failed: Broken pipe,
 * continuing with 1/2 slaves.", libavformat/tee.c), and a failed leg stays gone for the process's
 * life: a leg comes back only in another TeeEncoder. The process's death fails every leg.
 */
export class TeeEncoder {
  private constructor(
    private readonly encoder: FrameEncoder,
    /** Resolves once every leg's muxer has opened (an RTSP server took the stream) or failed. */
    readonly opened: Promise<void>,
    /** Per leg, in order: resolves with the reason once it has failed, alone or with the process. */
    readonly failed: readonly Promise<Error>[],
  ) {}

  static async start(options: TeeEncoderOptions): Promise<TeeEncoder> {
    const ffmpeg = await findFfmpeg();
    const { label, width, height, crf, legs } = options;
    let open = (): void => undefined;
    const opened = new Promise<void>((resolve) => (open = resolve));
    const fail: ((reason: Error) => void)[] = [];
    const failed = legs.map(() => new Promise<Error>((resolve) => fail.push(resolve)));
    const encoder = new FrameEncoder(ffmpeg.path, {
      label,
      width,
      height,
      timing: { clock: "wallclock" },
      // At info, ffmpeg says "Output #0, tee" once every slave has written its header or failed.
      output: ["-v", "info", ...liveH264Args(crf), "-f", "tee", teeTarget(legs)],
      onStderrLine: (line) => {
        if (line.startsWith("Output #0, tee")) open();
        const slave = SLAVE_FAILED.exec(line);
        const leg = slave ? legs[Number(slave[1])] : undefined;
        if (slave && leg) fail[Number(slave[1])]?.(new Error(`ffmpeg's ${leg.format} output failed: ${slave[2]}`));
      },
    });
    encoder.process.done.catch((death: unknown) => fail.forEach((each) => each(death as Error)));
    return new TeeEncoder(encoder, opened, failed);
  }

  /** Add a frame; rejects once ffmpeg has gone, with the reason. A failed leg alone does not reject it. */
  write(frame: Frame): Promise<void> {
    return this.encoder.write(frame);
  }

  /** No more frames: resolves once ffmpeg has finished every leg (HLS's last segment), rejects if it failed. */
  finish(): Promise<void> {
    return this.encoder.finish();
  }

  /** Stop it without finishing. Safe to call twice. */
  close(): Promise<void> {
    return this.encoder.close();
  }
}
