import { Queue } from "bullmq";
import { Command } from "commander";
import { cleanChunks } from "../queue/clean.js";
import { connection, QUEUE, type JobData } from "../queue/jobs.js";
import { reachRedis } from "../queue/ready.js";
import { allVideos, type VideoStatus } from "../queue/status.js";
import { only, QUEUE_FLAGS, withConfigOptions } from "./config-options.js";
import { resolveConfig } from "./resolve-config.js";

interface JobsFlags {
  /** true: the output folders the queue knows; a list: those as well. */
  clean?: true | string[];
}

/** `dsanet jobs`: every queued video with its state, progress and error; --clean: remove chunks no job uses. */
export function jobsCommand(): Command {
  return withConfigOptions(
    new Command("jobs")
      .description("list the videos in the shared queue: state, chunks done, errors")
      .option("--clean [out-dir...]", "instead, remove chunk files that no queued or running video uses (failed videos, videos Redis lost) from these output folders and those of the videos in the queue"),
    [only(QUEUE_FLAGS, "redis")],
  ).action(async (flags: JobsFlags, command: Command) => {
    const config = await resolveConfig(command);
    const queue = new Queue<JobData>(QUEUE, { connection: connection(config.queue.redis) });
    try {
      await reachRedis(queue.waitUntilReady(), config.queue.redis);
      if (flags.clean) {
        const cleaned = await cleanChunks(queue, flags.clean === true ? [] : flags.clean);
        const lines = cleaned.map((c) => `${c.removed ? "removed" : "kept"}\t${c.folder}\t${c.why}`);
        process.stdout.write(lines.length > 0 ? lines.join("\n") + "\n" : "no chunk folders found\n");
        return;
      }
      const rows = (await allVideos(queue)).map((v) =>
        [v.id, v.state, `${v.chunksDone}/${v.chunks}`, `${Math.round(100 * v.progress)}%`, `${v.input} -> ${v.output}`, problem(v)].join("\t"),
      );
      process.stdout.write(["id\tstate\tchunks\tprogress\tvideo\terror", ...rows].join("\n") + "\n");
    } finally {
      await queue.close();
    }
  });
}

function problem(video: VideoStatus): string {
  if (video.lostChunks > 0) return `${video.lostChunks} chunk jobs gone from Redis: submit it again`;
  return video.failedReason ?? "";
}
