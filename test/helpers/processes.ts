import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { WORK } from "./clips.js";
import { until } from "./until.js";

/** Running processes (zombies left out) whose command line holds `text`, as `pgrep -f` finds them. */
export function processesWith(text: string): number[] {
  return runningProcesses().filter(({ argv }) => argv.join(" ").includes(text)).map(({ pid }) => pid);
}

/**
 * Running ffmpegs and ffprobes whose command line holds `text`. Not dsanet itself, whose
 * arguments hold the same paths, nor a shell forked on its way to run something else (bin/dsanet's
 * `$(dirname "$0")` is one, for a moment, with dsanet's whole command line).
 */
export function ffmpegsWith(text: string): number[] {
  return runningProcesses()
    .filter(({ argv }) => /(^|\/)ff(mpeg|probe)$/.test(argv[0] ?? "") && argv.join(" ").includes(text))
    .map(({ pid }) => pid);
}

/** The running ffmpegs that `parent` started (dsanet's own, not another test's), with their command lines. */
export function ffmpegsOf(parent: number): { pid: number; argv: string }[] {
  return runningProcesses()
    .filter(({ pid, argv }) => parentOf(pid) === parent && /(^|\/)ffmpeg$/.test(argv[0] ?? ""))
    .map(({ pid, argv }) => ({ pid, argv: argv.join(" ") }));
}

function runningProcesses(): { pid: number; argv: string[] }[] {
  const found: { pid: number; argv: string[] }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (running(Number(entry))) found.push({ pid: Number(entry), argv });
    } catch {
      // It exited while we looked.
    }
  }
  return found;
}

/** The parent's pid of `pid`, or null once it is gone. */
function parentOf(pid: number): number | null {
  try {
    // /proc/PID/stat: "pid (name) state ppid ...", and the name may hold spaces or parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
}

/** The state /proc gives `pid` ("R" running, "S" sleeping, "T" stopped, "Z" zombie...), or null once it is gone. */
function stateOf(pid: number): string | null {
  try {
    // /proc/PID/stat: "pid (name) state ...", and the name may hold spaces or parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.charAt(stat.lastIndexOf(")") + 2);
  } catch {
    return null;
  }
}

/** Whether `pid` runs: neither gone nor a zombie waiting for its parent. */
export function running(pid: number): boolean {
  const state = stateOf(pid);
  return state !== null && state !== "Z";
}

/** A process frozen by `hold`, or one that stopped itself (`ffmpegStoppedAtStart`). */
export interface Held {
  /** Let it go on (SIGCONT) and wait for it to end. */
  release(): Promise<void>;
}

function held(pid: number, text: string): Held {
  return {
    async release() {
      if (running(pid)) process.kill(pid, "SIGCONT");
      await until(() => !running(pid), 30_000, `process ${pid} (${text}) to end`);
    },
  };
}

/**
 * Freeze (SIGSTOP) the one process whose command line holds `text`, such as the ffmpeg that
 * writes a given file, once it runs.
 */
export async function hold(text: string): Promise<Held> {
  const pid = await until(() => processesWith(text)[0], 60_000, `a process running with ${text}`);
  process.kill(pid, "SIGSTOP");
  // A signal is delivered when the process next runs: until then a SIGTERM sent after this one
  // still comes first (pending signals go lowest number first), and the process would not be held.
  await until(() => stateOf(pid) === "T", 10_000, `process ${pid} (${text}) to stop`);
  return held(pid, text);
}

let stoppedAtStart = 0;

/**
 * An ffmpeg for `FFMPEG_PATH` that, when one of its arguments holds `marker` (the name of the
 * file it is to write), takes the first bytes dsanet sends it and then stops itself (SIGSTOP)
 * before ffmpeg starts: an encoder that has been given frames but has not yet opened its file,
 * as a loaded machine leaves one. `heldAtStart(marker)` waits for that moment; once let go,
 * ffmpeg reads those bytes and the rest of its input as if it had never stopped.
 */
export function ffmpegStoppedAtStart(marker: string): string {
  const path = join(WORK, `ffmpeg-stopped-at-start-${++stoppedAtStart}.sh`);
  const script = `#!/bin/sh
marker='${marker.replaceAll("'", "'\\''")}'
for argument in "$@"; do
  case $argument in *"$marker"*)
    taken="$0.taken.$$"
    head -c 4096 > "$taken"
    kill -STOP $$
    cat "$taken" - | ffmpeg "$@"
    exit ;;
  esac
done
exec ffmpeg "$@"
`;
  writeFileSync(path, script, { mode: 0o755 });
  return path;
}

/** The `ffmpegStoppedAtStart` run for `marker`, once it has stopped itself. */
export async function heldAtStart(marker: string): Promise<Held> {
  const pid = await until(() => processesWith(marker).find((p) => stateOf(p) === "T"), 60_000, `an ffmpeg with ${marker} stopped at its start`);
  return held(pid, marker);
}
