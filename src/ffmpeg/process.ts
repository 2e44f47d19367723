import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { redact } from "../redact.js";
import { FfmpegError, howItEnded } from "./errors.js";

const STDERR_TAIL_BYTES = 8192;
const KILL_AFTER_MS = 3000;
/** How long an exit waits for its killed ffmpegs to be gone: SIGKILL takes effect at once, bar a stuck disk. */
const GONE_WITHIN_MS = 2000;

/** This process's ffmpegs that have not exited yet. */
const running = new Set<ChildProcess>();
process.on("exit", killRunningProcesses);

/**
 * Kill every ffmpeg this process started and has not seen end, and wait until they can no
 * longer touch a file. Each leads a process group of its own that no terminal's signal reaches
 * (see FfmpegProcess), so nothing else would end them: an encoder left behind by a second
 * Ctrl-C or an uncaught error would finish its file after dsanet had removed or kept it, or
 * create it only then. Runs at exit, where nothing can be awaited: a killed child stays a
 * zombie until its parent reaps it, so "zombie" (read from /proc) means all its system calls,
 * an open() that creates a file included, are over. PartialFile calls this before it settles
 * its files. Safe to call twice.
 */
export function killRunningProcesses(): void {
  const killed = [...running].flatMap((child) => (child.pid === undefined ? [] : [child.pid]));
  running.clear();
  for (const pid of killed) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  const deadline = Date.now() + GONE_WITHIN_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (const pid of killed) {
    while (!gone(pid) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 1);
  }
}

/** Whether `pid` has ended (a zombie, or no longer there); true where there is no /proc to ask. */
function gone(pid: number): boolean {
  try {
    // "pid (name) state ...", and the name may hold spaces or parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.charAt(stat.lastIndexOf(")") + 2) === "Z";
  } catch {
    return true;
  }
}

export interface FfmpegProcessOptions {
  /** Give the process a stdin pipe to write to (encoders); otherwise stdin is ignored. */
  readonly stdin?: boolean;
  /** Called with each complete stderr line, for parsers such as showinfo's. */
  readonly onStderrLine?: (line: string) => void;
}

/**
 * One ffmpeg or ffprobe child process. Backpressure stays with the caller: `stdout` and
 * `stdin` are plain streams for `stream.pipeline` or async iteration. `done` settles once the
 * process has exited and its stdio has drained ('close', not 'exit'); it rejects with the
 * command and the last few KB of stderr when the exit was unexpected (neither code 0 nor asked
 * for by close()), and tells a failure to start (missing binary) apart from a later death.
 * Never spawned through a shell.
 */
export class FfmpegProcess {
  readonly stdout: Readable;
  readonly stdin: Writable | null;
  readonly done: Promise<void>;
  private readonly child: ChildProcess;
  private stderrTail = "";
  private closing = false;
  private exited = false;

  constructor(
    readonly binary: string,
    readonly args: readonly string[],
    options: FfmpegProcessOptions = {},
  ) {
    // A process group of its own: a terminal's Ctrl-C or hang-up goes to the whole foreground
    // group, and an encoder that took it would cut its file short before dsanet could finish it.
    // dsanet alone decides how its ffmpegs end (close(), or the end of their stdin).
    // The flip side: dsanet must end them when it ends (killRunningProcesses).
    this.child = spawn(binary, args, { stdio: [options.stdin ? "pipe" : "ignore", "pipe", "pipe"], detached: true });
    running.add(this.child);
    const { stdout, stderr } = this.child;
    if (!stdout || !stderr) throw new Error("spawn did not create stdout and stderr pipes");
    this.stdout = stdout;
    this.stdin = this.child.stdin;
    // An encoder that dies makes writes fail with EPIPE; `done` reports the real cause.
    this.stdin?.on("error", () => undefined);

    let partial = "";
    stderr.setEncoding("utf8");
    stderr.on("data", (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
      if (!options.onStderrLine) return;
      const lines = (partial + chunk).split(/\r?\n|\r/);
      partial = lines.pop() ?? "";
      for (const line of lines) options.onStderrLine(line);
    });

    this.done = new Promise<void>((resolve, reject) => {
      this.child.once("error", (error: NodeJS.ErrnoException) => {
        this.exited = true;
        running.delete(this.child);
        const hint = error.code === "ENOENT" ? " (not found: install ffmpeg or set FFMPEG_PATH)" : "";
        reject(new FfmpegError(`could not start ${binary}${hint}: ${error.message}`, null, ""));
      });
      this.child.once("exit", () => {
        this.exited = true;
        running.delete(this.child);
      });
      this.child.once("close", (code, signal) => {
        this.exited = true;
        // An end that close() asked for is clean however it came: by SIGKILL, or by ffmpeg
        // taking SIGTERM itself and exiting with 255 ("Exiting normally, received signal 15"),
        // or failing on the stdout close() destroyed. Only an end nobody asked for is a death.
        if (code === 0 || this.closing) resolve();
        else reject(this.failure(code, signal));
      });
    });
    // Callers that only close() must not see an unhandled rejection; awaiting `done` still throws.
    this.done.catch(() => undefined);
  }

  /** The command line and stderr tail, credentials redacted, for messages and logs. */
  describe(): string {
    return redact([this.binary, ...this.args].join(" "));
  }

  /** Last lines of stderr, credentials redacted. */
  stderr(): string {
    return redact(this.stderrTail.trim());
  }

  /** The process id, for tools that look at the process from outside. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Stop the process: SIGTERM, then SIGKILL if it lingers. Its unread output is discarded:
   * 'close' waits for stdout to end, and a paused stdout holding unread frames never ends,
   * also once the process has exited (a reader that gave up on a hung camera, or on a decoder
   * that wrote its last frames, would otherwise wait here forever). Safe to call more than once.
   */
  async close(): Promise<void> {
    this.stdout.destroy();
    if (!this.exited && !this.closing) {
      this.closing = true;
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), KILL_AFTER_MS);
      await this.done.catch(() => undefined);
      clearTimeout(timer);
    }
    await this.done.catch(() => undefined);
  }

  private failure(code: number | null, signal: NodeJS.Signals | null): FfmpegError {
    const tail = this.stderr();
    return new FfmpegError(`${this.describe()}\n${howItEnded(code, signal)}${tail ? `:\n${tail}` : ""}`, code, tail, signal);
  }
}
