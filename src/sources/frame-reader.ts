import type { Readable } from "node:stream";

/** Pulls exact numbers of bytes from a stream, and only when asked, so the writer pauses between. */
class PulledBytes {
  /** Bytes of the last read that the stream ended in the middle of. */
  leftover = 0;
  private readonly chunks: AsyncIterator<Buffer>;
  private pending: Buffer = Buffer.alloc(0);

  constructor(stream: Readable) {
    this.chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** The next `count` bytes, or null when the stream ends first. */
  async take(count: number): Promise<Uint8Array | null> {
    const out = new Uint8Array(count);
    let filled = Math.min(this.pending.length, count);
    out.set(this.pending.subarray(0, filled));
    this.pending = this.pending.subarray(filled);
    while (filled < count) {
      const { value, done } = await this.chunks.next();
      if (done) {
        this.leftover = filled;
        return null;
      }
      const take = Math.min(value.length, count - filled);
      out.set(value.subarray(0, take), filled);
      filled += take;
      this.pending = value.subarray(take);
    }
    return out;
  }

  /** The bytes up to the next newline (without it), as text; null when the stream ends first. */
  async line(limit: number): Promise<string | null> {
    let text = "";
    for (;;) {
      const byte = await this.take(1);
      if (byte === null) return null;
      if (byte[0] === 0x0a) return text;
      text += String.fromCharCode(byte[0] ?? 0);
      if (text.length > limit) throw new Error(`expected a line of at most ${limit} characters, got ${JSON.stringify(text)}`);
    }
  }
}

/** Reads fixed-size frames from a byte stream; pulls only when asked, so the decoder pauses. */
export class FrameReader {
  frames = 0;
  private readonly bytes: PulledBytes;

  constructor(
    stream: Readable,
    private readonly frameBytes: number,
  ) {
    this.bytes = new PulledBytes(stream);
  }

  /** Bytes of a last, incomplete frame: a stream cut mid-frame. */
  get leftover(): number {
    return this.bytes.leftover;
  }

  async next(): Promise<Uint8Array | null> {
    const frame = await this.bytes.take(this.frameBytes);
    if (frame !== null) this.frames++;
    return frame;
  }
}

export interface Image {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
}

/**
 * Reads RGB24 images, each with its own size, from ffmpeg's PPM stream (`-f image2pipe -c:v ppm`:
 * "P6\n<width> <height>\n255\n" then the pixels): the decoder's output says what size each frame
 * is, so nothing needs to know it beforehand.
 */
export class PpmReader {
  private readonly bytes: PulledBytes;

  constructor(stream: Readable) {
    this.bytes = new PulledBytes(stream);
  }

  async next(): Promise<Image | null> {
    const magic = await this.bytes.line(2);
    if (magic === null) return null;
    const size = await this.bytes.line(24);
    const depth = await this.bytes.line(5);
    const match = /^(\d+) (\d+)$/.exec(size ?? "");
    if (magic !== "P6" || !match?.[1] || !match[2] || depth !== "255") {
      throw new Error(`not an 8-bit PPM image: header ${JSON.stringify([magic, size, depth].join("\n"))}`);
    }
    const [width, height] = [Number(match[1]), Number(match[2])];
    const rgb = await this.bytes.take(width * height * 3);
    return rgb === null ? null : { width, height, rgb };
  }
}
