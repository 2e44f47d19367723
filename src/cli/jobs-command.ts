import { Queue } from "bullmq";
import { Command } from "commander";
import { connection, QUEUE, type JobData } from "../queue/jobs.js";
import { reachRedis } from "../queue/ready.js";
import { allVideos } from "../queue/status.js";
import { resolveConfig, type ConfigFlags } from "./flags.js";

/** `dsanet jobs`: every queued video with its state, progress and error. */
export function jobsCommand(): Command {
  return new Command("jobs")
    .description("list the videos in the shared queue: state, chunks done, errors")
    .option("--redis <url>", "the queue's Redis (default: queue.redis, redis://127.0.0.1:6379)")
    .option("-c, --config <file>", "YAML config (see config/default.yaml)")
    .action(async (flags: ConfigFlags) => {
      const config = await resolveConfig(flags);
      const queue = new Queue<JobData>(QUEUE, { connection: connection(config.queue.redis) });
      try {
        await reachRedis(queue.waitUntilReady(), config.queue.redis);
        const rows = (await allVideos(queue)).map((v) =>
          [v.id, v.state, `${v.chunksDone}/${v.chunks}`, `${Math.round(100 * v.progress)}%`, `${v.input} -> ${v.output}`, v.failedReason ?? ""].join("\t"),
        );
        process.stdout.write(["id\tstate\tchunks\tprogress\tvideo\terror", ...rows].join("\n") + "\n");
      } finally {
        await queue.close();
      }
    });
}
