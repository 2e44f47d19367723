import { Subject, lastValueFrom, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { dropOldest } from "../../src/pipeline/drop-oldest.js";

/** Work whose runs finish when the test says so: `started` lists the values, in order. */
function controlledWork() {
  const started: number[] = [];
  const finishers: (() => void)[] = [];
  const work = (value: number) =>
    new Promise<number>((resolve) => {
      started.push(value);
      finishers.push(() => resolve(value * 10));
    });
  const finish = async () => {
    finishers.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { started, work, finish };
}

describe("dropOldest", () => {
  it("runs one at a time, drops the oldest waiting values beyond capacity, and keeps order", async () => {
    const source = new Subject<number>();
    const { started, work, finish } = controlledWork();
    const dropped: number[] = [];
    const out: number[] = [];
    source.pipe(dropOldest(2, work, (v) => dropped.push(v))).subscribe((v) => out.push(v));
    for (const v of [1, 2, 3, 4, 5]) source.next(v);
    expect(started).toEqual([1]);
    expect(dropped).toEqual([2, 3]);
    await finish();
    await finish();
    await finish();
    expect(started).toEqual([1, 4, 5]);
    expect(out).toEqual([10, 40, 50]);
  });

  it("starts no further work once unsubscribed mid-work, and forgets what was waiting", async () => {
    const source = new Subject<number>();
    const { started, work, finish } = controlledWork();
    const out: number[] = [];
    const subscription = source.pipe(dropOldest(3, work)).subscribe((v) => out.push(v));
    for (const v of [1, 2, 3]) source.next(v);
    subscription.unsubscribe();
    await finish();
    source.next(4);
    // The work is promises only: one turn of the event loop runs every continuation pending.
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([1]);
    expect(out).toEqual([]);
    expect(source.observed).toBe(false);
  });

  it("completes only after the run in flight and the waiting values are done", async () => {
    const source = new Subject<number>();
    const { started, work, finish } = controlledWork();
    let completed = false;
    const result = lastValueFrom(source.pipe(dropOldest(2, work), toArray()));
    void result.then(() => (completed = true));
    source.next(1);
    source.next(2);
    source.complete();
    await finish();
    expect(completed).toBe(false);
    expect(started).toEqual([1, 2]);
    await finish();
    expect(await result).toEqual([10, 20]);
  });

  it("sends a failed run's error down the stream, thrown or rejected", async () => {
    const rejected = new Subject<number>();
    const failing = lastValueFrom(rejected.pipe(dropOldest(1, () => Promise.reject(new Error("engine died")))));
    rejected.next(1);
    await expect(failing).rejects.toThrow("engine died");

    const thrown = new Subject<number>();
    const throwing = lastValueFrom(
      thrown.pipe(
        dropOldest(1, (): Promise<number> => {
          throw new Error("bad frame");
        }),
      ),
    );
    thrown.next(1);
    await expect(throwing).rejects.toThrow("bad frame");
    expect(thrown.observed).toBe(false);
  });

  it("sends a throwing onDrop's error down the stream and lets go of the source", async () => {
    const { work } = controlledWork();
    const source = new Subject<number>();
    const failing = lastValueFrom(
      source.pipe(
        dropOldest(1, work, () => {
          throw new Error("counter broke");
        }),
      ),
    );
    source.next(1); // runs
    source.next(2); // waits
    expect(() => source.next(3)).not.toThrow(); // drops 2: onDrop throws, into the stream
    await expect(failing).rejects.toThrow("counter broke");
    expect(source.observed).toBe(false);
  });
});
