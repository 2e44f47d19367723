import { Queue } from "bullmq";
import { Command } from "commander";
import { log } from "../log.js";
import { connection, QUEUE, type JobData } from "../queue/jobs.js";
import { reachRedis } from "../queue/ready.js";
import { isFinished, videoStatus, type VideoStatus } from "../queue/status.js";
import { submitFiles, type Submitted } from "../queue/submit.js";
import { only, QUEUE_FLAGS, withConfigOptions } from "./config-options.js";
import { resolveConfig } from "./resolve-config.js";
import { QueueProgress } from "./queue-progress.js";

interface SubmitFlags {
  outDir: string;
  wait?: boolean;
}

/** `dsanet submit`: queue videos for the workers; with --wait, follow them to the end. */
export function submitCommand(): Command {
  return withConfigOptions(
    new Command("submit")
      .description("queue videos for `dsanet worker`s (long ones in chunks deblurred in parallel)")
      .argument("<input...>", "video files, at paths every worker can read")
      .requiredOption("--out-dir <dir>", "where <name>-deblurred.mp4 goes (a folder every worker can write)")
      .option("--wait", "show each video's progress until all are done"),
    [only(QUEUE_FLAGS, "redis", "chunkSeconds", "warmupFrames")],
  ).action(async (inputs: string[], flags: SubmitFlags, command: Command) => {
    const config = await resolveConfig(command);
    const { redis, chunkSeconds, warmupFrames } = config.queue;
    const results = await submitFiles(inputs, { redis, outDir: flags.outDir, chunkSeconds, warmupFrames });
    const queued = results.flatMap((r) => ("submitted" in r ? [r.submitted] : []));
    for (const result of results) {
      if ("error" in result) log.error(`${result.error.message} (not queued)`);
      else process.stdout.write(`${result.submitted.id}\t${result.submitted.input} -> ${result.submitted.output} (${result.submitted.chunks} chunks)\n`);
    }
    let failed = queued.length < results.length;
    if (flags.wait && queued.length > 0) failed = !(await follow(redis, queued)) || failed;
    process.exitCode = failed ? (queued.length < results.length ? 2 : 1) : 0;
  });
}

/**
 * Poll the videos until each has completed, failed or been lost from Redis (which only this
 * poll can notice: no job is left to report it); true when all completed.
 */
async function follow(redis: string, videos: readonly Submitted[]): Promise<boolean> {
  const queue = new Queue<JobData>(QUEUE, { connection: connection(redis) });
  const progress = new QueueProgress();
  try {
    await reachRedis(queue.waitUntilReady(), redis);
    for (;;) {
      const statuses = await Promise.all(videos.map((v) => videoStatus(queue, v.id)));
      progress.update(statuses.filter((s): s is VideoStatus => s !== null));
      const endings = videos.map((v, i) => ending(v, statuses[i] ?? null));
      if (endings.every((e) => e !== null)) {
        for (const e of endings) if (e) log.error(e);
        return endings.every((e) => e === "");
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    progress.close();
    await queue.close();
  }
}

/** How a followed video ended: null while it may still finish, "" when it completed, else why it did not. */
function ending(video: Submitted, status: VideoStatus | null): string | null {
  const gone = status === null ? "it is" : status.lostChunks > 0 ? `${status.lostChunks} of its ${status.chunks} chunk jobs are` : null;
  if (gone !== null) return `${video.input}: job ${video.id} can never finish: ${gone} gone from the queue; was Redis restarted without its append-only file? Submit it again`;
  if (status === null || !isFinished(status.state)) return null;
  return status.state === "completed" ? "" : `${video.input}: ${status.failedReason ?? "failed"}`;
}
