/** An input the user gave cannot be used; the message says what was wrong and what to do. */
export class InputError extends Error {
  override name = "InputError";
}

/** An ffmpeg or ffprobe process failed: the message holds the command and its stderr tail. */
export class FfmpegError extends Error {
  override name = "FfmpegError";
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderrTail: string,
  ) {
    super(message);
  }
}
