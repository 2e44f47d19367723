import { FlowProducer } from "bullmq";
import { randomUUID } from "node:crypto";
import { basename, extname, join, resolve } from "node:path";
import { countFrames } from "../ffmpeg/frames.js";
import { probe } from "../ffmpeg/probe.js";
import { refuseOverwritingInput } from "../sinks/partial-file.js";
import { connection, QUEUE, type ChunkJob, type JoinJob } from "./jobs.js";
import { planChunks } from "./plan.js";
import { reachRedis } from "./ready.js";

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
 * refused here with its reason, the others are queued; a chunk that fails for good later
 * fails its join, with its reason.
 */
export async function submitFiles(inputs: readonly string[], options: SubmitOptions): Promise<SubmitResult[]> {
  const flow = new FlowProducer({ connection: connection(options.redis) });
  try {
    await reachRedis(flow.waitUntilReady(), options.redis);
    const results: SubmitResult[] = [];
    for (const input of inputs) {
      try {
        results.push({ input, submitted: await submitFile(flow, input, options) });
      } catch (error) {
        results.push({ input, error: error as Error });
      }
    }
    return results;
  } finally {
    await flow.close();
  }
}

async function submitFile(flow: FlowProducer, input: string, options: SubmitOptions): Promise<Submitted> {
  const source = resolve(input);
  const info = await probe(source);
  const frames = await countFrames(source);
  const name = basename(source, extname(source));
  const output = join(resolve(options.outDir), `${name}-deblurred.mp4`);
  await refuseOverwritingInput(output, [source]);
  const folder = join(resolve(options.outDir), ".dsanet-chunks", `${name}-${randomUUID().slice(0, 8)}`);
  const chunks: ChunkJob[] = planChunks(frames, info.fps, options.chunkSeconds).map((c, index) => ({
    kind: "chunk", input: source, output: join(folder, `chunk-${String(index).padStart(5, "0")}.mp4`), index, ...c, warmup: options.warmupFrames,
  }));
  const joined: JoinJob = { kind: "join", input: source, output, chunks: chunks.map((c) => c.output), frames };
  const retried = { attempts: 3, backoff: { type: "exponential", delay: 2000 } };
  const node = await flow.add({
    name: "join", queueName: QUEUE, data: joined, opts: retried,
    children: chunks.map((data) => ({ name: "chunk", queueName: QUEUE, data, opts: { ...retried, failParentOnFailure: true } })),
  });
  return { id: node.job.id ?? "?", input: source, output, chunks: chunks.length };
}
