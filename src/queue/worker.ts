import { UnrecoverableError, Worker, type Job } from "bullmq";
import { mkdir, rm, rmdir } from "node:fs/promises";
import { dirname } from "node:path";
import { InputVideoError } from "../errors.js";
import { probe } from "../ffmpeg/probe.js";
import type { DeblurStreamOptions } from "../deblur/deblur-stream.js";
import type { Engine } from "../engine/engine.js";
import { deblurFile } from "../pipeline/deblur-file.js";
import type { EncodeOptions } from "../sinks/file.js";
import { chunkFolder, connection, QUEUE, type ChunkJob, type JobData, type JoinJob } from "./jobs.js";
import { joinChunks } from "./join.js";
import { reachRedis } from "./ready.js";
import { RunningJobs } from "./running-jobs.js";

export interface QueueWorkerOptions extends DeblurStreamOptions {
  readonly redis: string;
  readonly engine: Engine;
  readonly encode: EncodeOptions;
  /** Frames in flight per job between decoder and encoder. */
  readonly slots: number;
  /** Jobs at once; they share the engine, whose worker thread runs their frames in turn. */
  readonly concurrency: number;
  /** A job whose lock this worker has not renewed for this long is redone elsewhere. */
  readonly lockMs: number;
  /** One line per job started, done or failed (info), or lost and other queue trouble (warn). */
  readonly onEvent?: (level: "info" | "warn", message: string) => void;
}

/**
 * Take deblurring jobs from the shared queue until closed: chunks of long videos (deblurred
 * after a warm-up that rebuilds the carried state) and, once a video's chunks are all done,
 * the lossless join. A bad input fails its job at once with the reason (no retries); any
 * other failure is retried. If this process dies, its jobs' locks lapse after `lockMs` and
 * BullMQ's stalled-job check hands them to another worker.
 */
export async function startQueueWorker(options: QueueWorkerOptions): Promise<Worker<JobData>> {
  const say = options.onEvent ?? (() => undefined);
  const running = new RunningJobs(describe);
  const worker = new Worker<JobData>(
    QUEUE,
    async (job) => {
      if (job.id) running.start(job.id, job.data);
      say("info", `job ${job.id}: ${describe(job.data)} started`);
      try {
        return job.data.kind === "chunk" ? await deblurChunk(job as Job<ChunkJob>, options) : await join(job.data);
      } catch (error) {
        // Bad input stays bad: retrying it would only fail again.
        throw error instanceof InputVideoError ? new UnrecoverableError(error.message) : error;
      }
    },
    {
      connection: connection(options.redis),
      concurrency: options.concurrency,
      lockDuration: options.lockMs,
      stalledInterval: Math.max(500, Math.round(options.lockMs / 2)),
      // A chunk whose workers keep dying is not retried forever.
      maxStalledCount: 3,
    },
  );
  worker.on("completed", (job) => {
    running.end(job.id ?? "");
    say("info", `job ${job.id}: ${describe(job.data)} done`);
  });
  worker.on("failed", (job, error) => {
    running.end(job?.id ?? "");
    say("info", `job ${job?.id ?? "?"}: failed: ${error.message}`);
  });
  worker.on("error", (error) => {
    const warning = running.warning(error);
    if (warning !== null) say("warn", warning);
  });
  try {
    await reachRedis(worker.waitUntilReady(), options.redis);
  } catch (error) {
    await worker.close(true);
    throw error;
  }
  return worker;
}

function describe(data: JobData): string {
  return data.kind === "chunk" ? `${data.input} frames ${data.first}-${data.first + data.count - 1}` : `join ${data.output}`;
}

async function deblurChunk(job: Job<ChunkJob>, options: QueueWorkerOptions): Promise<{ frames: number }> {
  const { input, output, first, count, warmup } = job.data;
  await mkdir(dirname(output), { recursive: true });
  let reported = 0;
  const summary = await deblurFile({
    ...options,
    input,
    output,
    range: { first, count, warmup },
    onProgress: ({ frames }) => {
      // At most one Redis write a second.
      if (Date.now() - reported < 1000) return;
      reported = Date.now();
      void job.updateProgress(Math.round((100 * frames) / count)).catch(() => undefined);
    },
  });
  if (summary.inputError) throw new InputVideoError(summary.inputError.message);
  return { frames: summary.frames };
}

async function join(data: JoinJob): Promise<{ frames: number }> {
  await joinChunks({ chunks: data.chunks, input: data.input, info: await probe(data.input), output: data.output, frames: data.frames });
  const folder = chunkFolder(data);
  if (folder) {
    await rm(folder, { recursive: true, force: true });
    await rmdir(dirname(folder)).catch(() => undefined); // .dsanet-chunks, once no other video uses it
  }
  return { frames: data.frames };
}
