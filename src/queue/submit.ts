import { FlowProducer, Job, Queue } from "bullmq";
import { randomUUID } from "node:crypto";
import { basename, extname, join, resolve } from "node:path";
import { countFrames } from "../ffmpeg/frames.js";
import { probe } from "../ffmpeg/probe.js";
import { refuseOverwritingInput } from "../sinks/partial-file.js";
import { CHUNKS_FOLDER, chunkJobId, connection, QUEUE, videoJobId, type ChunkJob, type JobData, type JoinJob } from "./jobs.js";
import { planChunks } from "./plan.js";
import { reachRedis } from "./ready.js";
import { isFinished } from "./status.js";

export interface SubmitOptions {
  readonly redis: string;
  /** Where outputs go, as <name>-deblurred.mp4; a folder every worker reaches at this path. */
  readonly outDir: string;
  readonly chunkSeconds: number;
  readonly warmupFrames: number;
}

export interface Submitted {
  /** The id of the video's join job, the parent of its chunk jobs. */
  readonly id: string;
  readonly input: string;
  readonly output: string;
  readonly chunks: number;
}

/** What became of one input: queued, or refused with the reason. */
export type SubmitResult = { readonly input: string; readonly submitted: Submitted } | { readonly input: string; readonly error: Error };

/**
 * Queue videos, each as a chunk job per ~chunkSeconds of it and a join job that BullMQ starts
 * once they are all done (a flow: the join is their parent). Paths are made absolute, as
 * workers on other machines see the same shared folder. An input that cannot be read is
 * refused here with its reason, and so is one whose output another queued or running video
 * is writing; the others are queued. A chunk that fails for good later fails its join, with
 * its reason.
 */
export async function submitFiles(inputs: readonly string[], options: SubmitOptions): Promise<SubmitResult[]> {
  const flow = new FlowProducer({ connection: connection(options.redis) });
  const queue = new Queue<JobData>(QUEUE, { connection: connection(options.redis) });
  try {
    await reachRedis(Promise.all([flow.waitUntilReady(), queue.waitUntilReady()]), options.redis);
    const results: SubmitResult[] = [];
    for (const input of inputs) {
      try {
        results.push({ input, submitted: await submitFile(flow, queue, input, options) });
      } catch (error) {
        results.push({ input, error: error as Error });
      }
    }
    return results;
  } finally {
    await Promise.all([flow.close(), queue.close()]);
  }
}

async function submitFile(flow: FlowProducer, queue: Queue<JobData>, input: string, options: SubmitOptions): Promise<Submitted> {
  const source = resolve(input);
  const info = await probe(source);
  const name = basename(source, extname(source));
  const output = join(resolve(options.outDir), `${name}-deblurred.mp4`);
  await refuseOverwritingInput(output, [source]);
  const id = videoJobId(output);
  await makeWay(queue, id, source);
  const frames = await countFrames(source);
  const folder = join(resolve(options.outDir), CHUNKS_FOLDER, `${name}-${randomUUID().slice(0, 8)}`);
  const chunks: ChunkJob[] = planChunks(frames, info.fps, options.chunkSeconds).map((c, index) => ({
    kind: "chunk", input: source, output: join(folder, `chunk-${String(index).padStart(5, "0")}.mp4`), index, ...c, warmup: options.warmupFrames,
  }));
  const joined: JoinJob = { kind: "join", input: source, output, chunks: chunks.map((c) => c.output), frames };
  const retried = { attempts: 3, backoff: { type: "exponential", delay: 2000 } };
  await flow.add({
    name: "join", queueName: QUEUE, data: joined, opts: { ...retried, jobId: id },
    children: chunks.map((data) => ({ name: "chunk", queueName: QUEUE, data, opts: { ...retried, jobId: chunkJobId(id, data.index), failParentOnFailure: true } })),
  });
  return { id, input: source, output, chunks: chunks.length };
}

/**
 * Clear the way for video `id`: refused while a video with that output is queued or running
 * (two jobs would write one file); a finished one, completed or failed, is removed with its
 * chunk jobs, as this submission replaces it (BullMQ would ignore a job whose id exists).
 */
async function makeWay(queue: Queue<JobData>, id: string, input: string): Promise<void> {
  const existing = await Job.fromId<JobData>(queue, id);
  if (!existing) return;
  const state = await existing.getState();
  const { output } = existing.data;
  if (!isFinished(state)) {
    throw new Error(`${input}: job ${id} (${state}) is already making ${output} from ${existing.data.input}; wait for it (dsanet jobs) or choose another --out-dir`);
  }
  // A failed video's other chunks may still be running; their locks keep them.
  if ((await queue.remove(id, { removeChildren: true })) !== 1) {
    throw new Error(`${input}: job ${id} for ${output} failed but some of its chunks still run; submit again once they finish (dsanet jobs)`);
  }
}
