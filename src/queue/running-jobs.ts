import type { JobData } from "./jobs.js";

/**
 * The jobs one worker runs, by id, so that its warnings can say what a job was: when Redis
 * loses a job (restarted without its append-only file), BullMQ's errors give only the id, and
 * the job's data is gone from Redis with it.
 */
export class RunningJobs {
  private readonly jobs = new Map<string, { readonly data: JobData; lockLost: boolean; gone: boolean }>();

  constructor(private readonly describe: (data: JobData) => string) {}

  start(id: string, data: JobData): void {
    this.jobs.set(id, { data, lockLost: false, gone: false });
  }

  /**
   * A job completed or failed. A job Redis lost does neither and stays listed, so that the
   * errors BullMQ repeats about it are known: a few entries per Redis restart.
   */
  end(id: string): void {
    this.jobs.delete(id);
  }

  /**
   * The warning for an error a BullMQ worker emitted, or null when it has been said already.
   * BullMQ notices a lost job when it renews the job's lock (every few seconds; that also
   * fails for a job handed to another worker) and when it records the job's end (then again
   * as it tries to retry it).
   */
  warning(error: Error): string | null {
    const missing = /^Missing key for job (\S+)\. /.exec(error.message)?.[1];
    const unlocked = /^could not renew lock for job (\S+)$/.exec(error.message)?.[1];
    const id = missing ?? unlocked;
    const job = id === undefined ? undefined : this.jobs.get(id);
    if (id === undefined || job === undefined) return `queue: ${error.message}`;
    const what = `job ${id}: ${this.describe(job.data)}`;
    if (job.gone) return null;
    if (missing !== undefined) {
      job.gone = true;
      return `${what}: gone from Redis (restarted without its append-only file?); its result is dropped: submit ${job.data.input} again`;
    }
    if (job.lockLost) return null;
    job.lockLost = true;
    return `${what}: could not renew its lock: the job is gone from Redis or was handed to another worker`;
  }
}
