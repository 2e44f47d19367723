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

/**
 * An output could not be written: the disk is full, the folder is not writable, the device
 * failed. `code` is the system's name for the cause (ENOSPC, EACCES, EIO, EDQUOT, EROFS).
 */
export class OutputError extends Error {
  override name = "OutputError";
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}
