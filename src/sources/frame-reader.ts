import type { Readable } from "node:stream";

/** Reads fixed-size frames from a byte stream; pulls only when asked, so the decoder pauses. */
export class FrameReader {
  frames = 0;
  leftover = 0;
  private readonly chunks: AsyncIterator<Buffer>;
  private pending: Buffer = Buffer.alloc(0);

  constructor(
    stream: Readable,
    private readonly frameBytes: number,
  ) {
    this.chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async next(): Promise<Uint8Array | null> {
    const frame = new Uint8Array(this.frameBytes);
    let filled = Math.min(this.pending.length, this.frameBytes);
    frame.set(this.pending.subarray(0, filled));
    this.pending = this.pending.subarray(filled);
    while (filled < this.frameBytes) {
      const { value, done } = await this.chunks.next();
      if (done) {
        this.leftover = filled;
        return null;
      }
      const take = Math.min(value.length, this.frameBytes - filled);
      frame.set(value.subarray(0, take), filled);
      filled += take;
      this.pending = value.subarray(take);
    }
    this.frames++;
    return frame;
  }
}
