import { concatMap, defer, finalize, type ObservableInput, type OperatorFunction } from "rxjs";
import type { Gate } from "../types.js";

/**
 * A fixed number of slots for frames in flight. The source takes one before reading a frame
 * (`fileSource`'s `gate`); `boundedInOrder` gives it back once the frame's work is done. With
 * every slot taken the source waits, and the decoder behind it stops on a full pipe: memory
 * stays flat however slow the work is.
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

/**
 * Lossless flow for files: each value's whole journey, `project`, one value at a time and in
 * order, each value's slot given back to every one of `credits` when its journey ends, however
 * it ends: emitted, skipped (a project may emit nothing, e.g. a filter inside it), or failed.
 * Every step that may drop a frame belongs inside `project`: a frame dropped before this
 * operator keeps its slot, and after `slots` of them the source waits forever.
 *
 * RxJS's contract, as `concatMap` keeps it: unsubscribing starts no further projects; an error
 * goes down the stream; completion waits for the project in flight.
 */
export function boundedInOrder<T, R>(credits: readonly Credits[], project: (value: T) => ObservableInput<R>): OperatorFunction<T, R> {
  const release = () => credits.forEach((c) => c.release());
  return concatMap((value) => defer(() => project(value)).pipe(finalize(release)));
}
