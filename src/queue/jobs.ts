import type { ConnectionOptions } from "bullmq";
import { InputError } from "../ffmpeg/errors.js";
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

/**
 * BullMQ's connection options from a redis:// or rediss:// URL (user, password and database
 * number included). Workers block on Redis, so requests must never give up on their own.
 */
export function connection(url: string): ConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputError(`${redact(url)}: not a redis:// URL (queue.redis, --redis)`);
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
