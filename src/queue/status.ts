import { Job, Queue } from "bullmq";
import type { JobData, JoinJob } from "./jobs.js";

/** Where one submitted video stands. */
export interface VideoStatus {
  readonly id: string;
  readonly input: string;
  readonly output: string;
  /** BullMQ's state of the join job: waiting-children while chunks run, then waiting, active, completed or failed. */
  readonly state: string;
  readonly chunks: number;
  readonly chunksDone: number;
  /** 0-1: done chunks plus the running ones' progress. */
  readonly progress: number;
  readonly failedReason: string | null;
  /**
   * Chunk jobs the join still waits for that are gone from Redis (restarted without its
   * append-only file): the video can never finish, and nothing in BullMQ says so.
   */
  readonly lostChunks: number;
}

/** A video's join job in one of these states will not change again. */
export function isFinished(state: string): boolean {
  return state === "completed" || state === "failed";
}

/** The status of video `id` (its join job's id), or null when the queue has no such job. */
export async function videoStatus(queue: Queue<JobData>, id: string): Promise<VideoStatus | null> {
  const job = await Job.fromId<JobData>(queue, id);
  if (!job || job.data.kind !== "join") return null;
  return describe(job as Job<JoinJob>, queue);
}

/** Every video in the queue, newest first. */
export async function allVideos(queue: Queue<JobData>): Promise<VideoStatus[]> {
  const jobs = await queue.getJobs(["waiting-children", "waiting", "active", "delayed", "prioritized", "completed", "failed"]);
  const videos = jobs.filter((job): job is Job<JoinJob> => job.data.kind === "join").sort((a, b) => b.timestamp - a.timestamp);
  return Promise.all(videos.map((job) => describe(job, queue)));
}

async function describe(job: Job<JoinJob>, queue: Queue<JobData>): Promise<VideoStatus> {
  const state = await job.getState();
  const total = job.data.chunks.length;
  const counts = await job.getDependenciesCount({ processed: true, unprocessed: true });
  const done = state === "completed" ? total : (counts.processed ?? 0);
  // Running chunks report their own progress (percent); add it to the finished ones.
  const { unprocessed = [] } = await job.getDependencies({ unprocessed: { count: total } });
  let running = 0;
  let lostChunks = 0;
  for (const key of unprocessed) {
    const child = await Job.fromId(queue, key.slice(key.lastIndexOf(":") + 1));
    if (!child) lostChunks++;
    running += typeof child?.progress === "number" ? child.progress / 100 : 0;
  }
  const joined = state === "completed" ? 1 : 0;
  return {
    id: job.id ?? "?",
    input: job.data.input,
    output: job.data.output,
    state,
    chunks: total,
    chunksDone: done,
    // The join is the last step: chunks count for 99% of the way.
    progress: Math.min(1, (0.99 * (done + running)) / total + 0.01 * joined),
    failedReason: state === "failed" ? await failure(job, queue) : null,
    lostChunks,
  };
}

/**
 * Why a video failed: a chunk that failed for good fails its join as "child bull:<queue>:<id> failed"; say the chunk's reason.
 * The join is read again: the one listed may have been read before it failed, without a reason.
 */
async function failure(listed: Job<JoinJob>, queue: Queue<JobData>): Promise<string> {
  const job = (await Job.fromId<JoinJob>(queue, listed.id ?? "")) ?? listed;
  const child = /^child bull:[^:]+:(\S+) failed$/.exec(job.failedReason)?.[1];
  const reason = child ? (await Job.fromId(queue, child))?.failedReason : null;
  return reason || job.failedReason;
}
