/** An ffmpeg or ffprobe process failed: the message holds the command and its stderr tail. */
export class FfmpegError extends Error {
  override name = "FfmpegError";
  constructor(
    message: string,
    /** How it ended: its exit code, or the signal that killed it; both null when it never started. */
    readonly exitCode: number | null,
    readonly stderrTail: string,
    readonly signal: NodeJS.Signals | null = null,
  ) {
    super(message);
  }

  /** "was killed by SIGKILL", "exited with code 1", or null for a process that never started. */
  get ending(): string | null {
    return howItEnded(this.exitCode, this.signal);
  }
}

/** How a process ended, as messages say it: "was killed by SIGKILL", "exited with code 1"; null if it never ran. */
export function howItEnded(exitCode: number | null, signal: NodeJS.Signals | null): string | null {
  if (signal) return `was killed by ${signal}`;
  return exitCode === null ? null : `exited with code ${exitCode}`;
}

/**
 * An error in one line for a log: for an ffmpeg that died, how it ended ("ffmpeg was killed by
 * SIGKILL", "ffmpeg exited with code 1"), which its message holds after the command line, rather
 * than the last line of its stderr (x264's statistics, at info level); for any other error, its
 * first line. An error that wraps an FfmpegError (`cause`) is read as that one.
 */
export function briefly(error: unknown): string {
  const ffmpeg = error instanceof FfmpegError ? error : error instanceof Error && error.cause instanceof FfmpegError ? error.cause : null;
  if (ffmpeg?.ending) return `ffmpeg ${ffmpeg.ending}`;
  return (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
}
