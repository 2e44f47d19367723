import type { Queue } from "bullmq";
import { readdir, rm, rmdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { CHUNKS_FOLDER, chunkFolder, type JobData } from "./jobs.js";

/** What became of one video's chunk folder. */
export interface CleanedFolder {
  readonly folder: string;
  readonly removed: boolean;
  readonly why: string;
}

/** The only files a chunk folder holds: chunk files, and a worker's unfinished one (see PartialFile). */
const CHUNK_FILE = /^\.?chunk-\d+(\.\d+\.partial)?\.mp4$/;

/**
 * Remove the chunk folders that no queued or running job uses any more, under `outDirs` and
 * under the output folder of every video the queue knows: those of failed videos, and those
 * of videos that Redis lost (restarted without its append-only file). A completed video's join
 * removed its own. Only files named as chunks are removed, inside CHUNKS_FOLDER: never an
 * output or an input, and a folder holding anything else is kept and said.
 */
export async function cleanChunks(queue: Queue<JobData>, outDirs: readonly string[]): Promise<CleanedFolder[]> {
  const known = (await queue.getJobs()).map((job) => job.data);
  const dirs = new Set([...outDirs.map((dir) => resolve(dir)), ...known.filter((d) => d.kind === "join").map((d) => dirname(d.output))]);
  // Look at the folders first and at the jobs after: a folder made meanwhile belongs to a job this listing sees.
  const folders = (await Promise.all([...dirs].map(videoFolders))).flat();
  const unfinished = new Set((await queue.getJobs(["active", "delayed", "paused", "prioritized", "waiting", "waiting-children"])).map((job) => chunkFolder(job.data)));
  const finished = new Set((await queue.getJobs(["completed", "failed"])).map((job) => chunkFolder(job.data)));
  const cleaned: CleanedFolder[] = [];
  for (const folder of folders) {
    if (unfinished.has(folder)) {
      cleaned.push({ folder, removed: false, why: "its video is queued or running" });
      continue;
    }
    const why = finished.has(folder) ? "its video finished" : "no job in the queue uses it";
    cleaned.push(await removeChunks(folder, why));
  }
  for (const dir of dirs) await rmdir(join(dir, CHUNKS_FOLDER)).catch(() => undefined); // once empty
  return cleaned;
}

/** The per-video folders in `dir`'s chunk folder; none when it has none. */
async function videoFolders(dir: string): Promise<string[]> {
  const root = join(dir, CHUNKS_FOLDER);
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isDirectory()).map((entry) => join(root, entry.name));
}

async function removeChunks(folder: string, why: string): Promise<CleanedFolder> {
  const names = await readdir(folder);
  const strangers = names.filter((name) => !CHUNK_FILE.test(name));
  if (strangers.length > 0) {
    return { folder, removed: false, why: `it holds files that are not chunks (${strangers.slice(0, 3).join(", ")}); remove it by hand if it may go` };
  }
  await Promise.all(names.map((name) => rm(join(folder, name))));
  await rmdir(folder);
  return { folder, removed: true, why };
}

