import type { ConnectionOptions } from "bullmq";
import { createHash } from "node:crypto";
import { basename, dirname, extname } from "node:path";
import { ConfigError } from "../errors.js";
import { redact } from "../redact.js";

/** The one BullMQ queue that submitters fill and workers empty. */
export const QUEUE = "dsanet";

/** Deblur frames [first, first + count) of `input` into the chunk file `output`. */
export interface ChunkJob {
  readonly kind: "chunk";
  readonly input: string;
  readonly output: string;
  readonly index: number;
  readonly first: number;
  readonly count: number;
  readonly warmup: number;
}

/** Once every chunk is done: join them into `output` with the input's audio. */
export interface JoinJob {
  readonly kind: "join";
  readonly input: string;
  readonly output: string;
  readonly chunks: readonly string[];
  readonly frames: number;
}

export type JobData = ChunkJob | JoinJob;

/** The folder under an output folder that holds each video's chunk files until its join, in a subfolder per video. */
export const CHUNKS_FOLDER = ".dsanet-chunks";

/** The folder a job writes chunk files into, or reads them from. */
export function chunkFolder(data: JobData): string | null {
  const chunk = data.kind === "chunk" ? data.output : data.chunks[0];
  return chunk === undefined ? null : dirname(chunk);
}

/**
 * The id of the join job that writes `output` (an absolute path), and so of its video: the
 * output's name for people, a hash of its whole path for uniqueness. BullMQ ignores a job whose
 * id exists already, so two submissions that would write one file cannot both be queued, even
 * when they race. (Custom ids must not hold ":" nor be integers; this holds neither.)
 */
export function videoJobId(output: string): string {
  const name = basename(output, extname(output)).replace(/[^\w.-]/g, "_");
  return `${name}-${createHash("sha256").update(output).digest("hex").slice(0, 12)}`;
}

/** The id of a video's chunk job `index`: fixed too, so that a duplicate flow adds no second set of chunks. */
export function chunkJobId(videoId: string, index: number): string {
  return `${videoId}-chunk${index}`;
}

/**
 * BullMQ's connection options from a redis:// or rediss:// URL (user, password and database
 * number included). Workers block on Redis, so requests must never give up on their own.
 */
export function connection(url: string): ConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`queue.redis: ${redact(url)} is not a redis:// URL (--redis)`);
  }
  const db = Number(parsed.pathname.slice(1) || 0);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(Number.isInteger(db) && db > 0 ? { db } : {}),
    ...(parsed.protocol === "rediss:" ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}
