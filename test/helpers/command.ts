import { spawn, spawnSync, type ChildProcessByStdio } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { REPO } from "./clips.js";
import { until } from "./until.js";

/** The command a user runs from a checkout: bin/dsanet, on the built dist/ (npm test builds it). */
export const DSANET = join(REPO, "bin/dsanet");

/** `dsanet ARGS` from the sources (tsx, no build needed), run to its end; `env` adds to the environment. */
export function dsanetSync(args: readonly string[], env: Readonly<Record<string, string>> = {}): { code: number | null; stderr: string; stdout: string } {
  const result = spawnSync(process.execPath, ["--import", "tsx", join(REPO, "src/cli/main.ts"), ...args], { cwd: REPO, encoding: "utf8", env: { ...process.env, ...env } });
  return { code: result.status, stderr: result.stderr, stdout: result.stdout };
}

export interface RunningCommand {
  readonly child: ChildProcessByStdio<null, null, Readable>;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Its exit code, the signal that killed it, or null if it has not exited within `timeoutMs`. */
  exit(timeoutMs: number): Promise<number | NodeJS.Signals | null>;
}

/**
 * `bin/dsanet ARGS`. With `ownGroup` it leads a process group of its own, as a shell's
 * foreground job does, so `signalGroup` reaches it and its children together, as a terminal's
 * Ctrl-C (SIGINT) or hang-up (SIGHUP) does. `env` adds to the environment.
 */
export function startCommand(args: readonly string[], options: { ownGroup?: boolean; env?: Readonly<Record<string, string>> } = {}): RunningCommand {
  const env = { ...process.env, ...options.env };
  const child = spawn(DSANET, args, { cwd: REPO, env, stdio: ["ignore", "ignore", "pipe"], detached: options.ownGroup ?? false });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, "exit").then(([code, signal]) => (code as number | null) ?? (signal as NodeJS.Signals));
  return {
    child,
    stderr: () => stderr,
    exit: (timeoutMs) => Promise.race([exited, new Promise<null>((resolve) => setTimeout(resolve, timeoutMs, null))]),
  };
}

/** Send `signal` to the process group `command` leads (started with `ownGroup`). */
export function signalGroup(command: RunningCommand, signal: NodeJS.Signals): void {
  if (command.child.pid === undefined) throw new Error("the command did not start");
  process.kill(-command.child.pid, signal);
}

/** The port `dsanet serve` said it serves on. */
export function servedPort(command: RunningCommand): Promise<number> {
  return until(() => Number(/serving \d+ stream\(s\) at http:\/\/127\.0\.0\.1:(\d+)\//.exec(command.stderr())?.[1] ?? 0) || null, 60_000, () => `serving:\n${command.stderr()}`);
}

/** One counter of `dsanet serve`'s /metrics for `stream`. */
export async function metric(port: number, name: string, stream: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(new RegExp(`${name}\\{stream="${stream}"\\} ([\\d.e+-]+)`).exec(text)?.[1] ?? 0);
}

/** One of `dsanet serve`'s per-output metrics (dsanet_output_*) for `stream`'s `output` ("recording", "hls", "publish"...). */
export async function outputMetric(port: number, name: string, stream: string, output: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(new RegExp(`${name}\\{stream="${stream}",output="${output}"\\} ([\\d.e+-]+)`).exec(text)?.[1] ?? 0);
}

/** The last media sequence number of `dsanet serve`'s HLS playlist for `stream`, or -1 while there is none. */
export async function lastHlsSegment(port: number, stream: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/hls/${stream}/index.m3u8`);
  if (!res.ok) return -1;
  const playlist = await res.text();
  return Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(playlist)?.[1] ?? 0) + (playlist.match(/^#EXTINF/gm)?.length ?? 0) - 1;
}
