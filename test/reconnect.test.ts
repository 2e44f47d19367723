import { describe, expect, it } from "vitest";
import { reconnectDelay } from "../src/reconnect.js";

const backoff = { initialMs: 100, maxMs: 1000 };

/** The least and the most of many draws: the jitter spans 50-100% of the delay. */
function range(failures: number, outageMs: number): [number, number] {
  const delays = Array.from({ length: 2000 }, () => reconnectDelay(failures, outageMs, backoff));
  return [Math.min(...delays), Math.max(...delays)];
}

describe("reconnectDelay", () => {
  it("starts at the initial delay and doubles, up to the cap, over a long outage", () => {
    const hour = 3_600_000;
    for (const [failures, full] of [[1, 100], [2, 200], [3, 400], [4, 800], [5, 1000], [30, 1000]] as const) {
      const [least, most] = range(failures, hour);
      expect(least).toBeGreaterThanOrEqual(full / 2);
      expect(most).toBeLessThanOrEqual(full);
      expect(most - least).toBeGreaterThan(full / 4); // jittered, not in step
    }
  });

  it("never waits more than a quarter of the outage so far, nor less than half the initial delay", () => {
    // Ten failures in, 2 s down: a quarter of the outage (500 ms), not the 1000 ms cap.
    expect(range(10, 2000)[1]).toBeLessThanOrEqual(500);
    // Just lost: the initial delay, whatever the failures.
    const [least, most] = range(10, 0);
    expect(least).toBeGreaterThanOrEqual(50);
    expect(most).toBeLessThanOrEqual(100);
  });
});
