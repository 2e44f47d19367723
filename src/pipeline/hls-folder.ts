import { readFile, readdir, rm, writeFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const PREFIX = "dsanet-hls-";
/** Holds the pid of the serve that made the folder. */
const OWNER = ".owner";

/** Whether process `pid` is alive (one that exists but is not ours to signal counts too). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * A folder of this serve's own for its HLS playlists and segments, in the temporary directory.
 * A serve that ends removes its folder; one that was killed (the OOM killer, SIGKILL) could
 * not, and its segments stayed in /tmp for good. So each folder names its owner, and the next
 * serve removes the folders whose owner has gone. A folder whose owner cannot be read (being
 * made this moment, or not ours) is left alone.
 */
export async function makeHlsFolder(): Promise<string> {
  const base = tmpdir();
  const names = await readdir(base).catch(() => [] as string[]);
  for (const name of names.filter((entry) => entry.startsWith(PREFIX))) {
    const folder = join(base, name);
    const owner = Number(await readFile(join(folder, OWNER), "utf8").catch(() => ""));
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) await rm(folder, { recursive: true, force: true });
  }
  const folder = await mkdtemp(join(base, PREFIX));
  await writeFile(join(folder, OWNER), String(process.pid));
  return folder;
}
