import type { Gate } from "../types.js";

/**
 * A fixed number of slots for frames in flight. The source takes one before reading a frame;
 * the end of the chain gives it back once the frame is written. With every slot taken the
 * source waits, and the decoder behind it stops on a full pipe: memory stays flat.
 */
export class Credits implements Gate {
  private waiting: (() => void)[] = [];

  constructor(private free: number) {
    if (free < 1) throw new Error(`need at least one slot, got ${free}`);
  }

  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}
