import { Observable, filter, lastValueFrom, of, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { probe } from "../../src/ffmpeg/probe.js";
import { Credits, boundedInOrder } from "../../src/pipeline/bounded-in-order.js";
import { fileSource } from "../../src/sources/file.js";
import type { Gate } from "../../src/types.js";
import { PEDESTRIANS } from "../helpers/clips.js";
import { until } from "../helpers/until.js";

/**
 * 0, 1, 2, ... `count` values, each produced only once `gate` grants a slot, as fileSource
 * does; `asked` lists the slots asked for, `granted` those granted, even after the end.
 */
function gatedCounter(gate: Gate, count: number, produced: number[] = [], granted: number[] = [], asked: number[] = []): Observable<number> {
  return new Observable<number>((subscriber) => {
    let stopped = false;
    void (async () => {
      for (let n = 0; n < count; n++) {
        asked.push(n);
        await gate.acquire();
        granted.push(n);
        if (stopped) return;
        produced.push(n);
        subscriber.next(n);
      }
      subscriber.complete();
    })();
    return () => (stopped = true);
  });
}

/** One turn of the event loop: the operator and these sources are promises only, so every continuation pending has run. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe("boundedInOrder", () => {
  it("never lets the source run more than its slots ahead of the work", async () => {
    const credits = new Credits(3);
    const produced: number[] = [];
    const asked: number[] = [];
    let finish: () => void = () => undefined;
    const out: number[] = [];
    gatedCounter(credits, 10, produced, [], asked)
      .pipe(boundedInOrder([credits], (n) => new Promise<number>((resolve) => (finish = () => resolve(n)))))
      .subscribe((n) => out.push(n));
    // The source waits at its fourth ask: whatever it was let produce, it has produced.
    await until(() => asked.length === 4, 10_000, "the source's fourth ask");
    expect(produced).toEqual([0, 1, 2]);
    finish();
    await until(() => asked.length === 5, 10_000, "the source's fifth ask");
    expect(out).toEqual([0]);
    expect(produced).toEqual([0, 1, 2, 3]);
  });

  it("does not stall a real decoder when the work skips frames (a filter inside it)", async () => {
    const credits = new Credits(2);
    const kept = await lastValueFrom(
      fileSource(PEDESTRIANS, await probe(PEDESTRIANS), { gate: credits }).pipe(
        boundedInOrder([credits], (frame) => of(frame).pipe(filter((f) => f.index % 5 === 0))),
        toArray(),
      ),
    );
    expect(kept.map((f) => f.index)).toEqual([0, 5, 10, 15, 20, 25]);
  });

  it("sends a failure down the stream, gives its slot back and stops the source", async () => {
    const credits = new Credits(1);
    const produced: number[] = [];
    const granted: number[] = [];
    const failing = gatedCounter(credits, 5, produced, granted).pipe(
      boundedInOrder([credits], async (n) => {
        if (n === 2) throw new Error("frame 2 is bad");
        return n;
      }),
    );
    await expect(lastValueFrom(failing)).rejects.toThrow("frame 2 is bad");
    await settled();
    // One slot: frame 3's was granted only because the failed frame gave it back; the source,
    // unsubscribed by the error, then stopped without producing it.
    expect(granted).toEqual([0, 1, 2, 3]);
    expect(produced).toEqual([0, 1, 2]);
  });

  it("starts no work once unsubscribed, and completes only after the work in flight", async () => {
    const credits = new Credits(4);
    const started: number[] = [];
    const finishers: (() => void)[] = [];
    const work = (n: number) =>
      new Promise<number>((resolve) => {
        started.push(n);
        finishers.push(() => resolve(n));
      });
    const subscription = gatedCounter(credits, 10).pipe(boundedInOrder([credits], work)).subscribe();
    await settled();
    subscription.unsubscribe();
    finishers.shift()?.();
    await settled();
    expect(started).toEqual([0]);

    let completed = false;
    const slots = new Credits(4);
    const all = lastValueFrom(gatedCounter(slots, 2).pipe(boundedInOrder([slots], work), toArray()));
    void all.then(() => (completed = true));
    await settled();
    finishers.shift()?.();
    await settled();
    expect(completed).toBe(false);
    finishers.shift()?.();
    expect(await all).toEqual([0, 1]);
    expect(completed).toBe(true);
  });
});
