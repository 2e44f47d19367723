import { describe, expect, it } from "vitest";
import type { ChunkJob } from "../../src/queue/jobs.js";
import { RunningJobs } from "../../src/queue/running-jobs.js";

const chunk: ChunkJob = { kind: "chunk", input: "/in/a.mp4", output: "/out/.dsanet-chunks/a-1/chunk-00000.mp4", index: 0, first: 0, count: 10, warmup: 2 };

describe("RunningJobs: a worker's warnings about jobs Redis lost", () => {
  it("says each lost job once, with its input, in BullMQ's words for it; other errors as they are", () => {
    const running = new RunningJobs((data) => `${data.input} (${data.kind})`);
    running.start("a-chunk0", chunk);
    // The lock first, every few seconds while the job runs: said once.
    expect(running.warning(new Error("could not renew lock for job a-chunk0"))).toBe(
      "job a-chunk0: /in/a.mp4 (chunk): could not renew its lock: the job is gone from Redis or was handed to another worker",
    );
    expect(running.warning(new Error("could not renew lock for job a-chunk0"))).toBeNull();
    // Then its end, and BullMQ's retry of it: said once, and what to do.
    expect(running.warning(new Error("Missing key for job a-chunk0. moveToFinished"))).toBe(
      "job a-chunk0: /in/a.mp4 (chunk): gone from Redis (restarted without its append-only file?); its result is dropped: submit /in/a.mp4 again",
    );
    expect(running.warning(new Error("Missing key for job a-chunk0. moveToDelayed"))).toBeNull();
    expect(running.warning(new Error("could not renew lock for job a-chunk0"))).toBeNull();
    // A job this worker does not run, or no longer runs, and any other error: BullMQ's message.
    running.start("b-chunk1", { ...chunk, index: 1 });
    running.end("b-chunk1");
    expect(running.warning(new Error("Missing key for job b-chunk1. moveToFinished"))).toBe("queue: Missing key for job b-chunk1. moveToFinished");
    expect(running.warning(new Error("connect ECONNREFUSED 127.0.0.1:6379"))).toBe("queue: connect ECONNREFUSED 127.0.0.1:6379");
  });
});
