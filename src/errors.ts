/**
 * What the user must fix: a config field, a flag, a file, a URL, a busy port, a missing tool.
 * Its message is the whole story, said as "what was wrong: what to do"; the CLI prints it in
 * one line and exits 2. Any other error is ours to fix, and keeps its stack.
 */
export class UserError extends Error {
  override name = "UserError";
}

/** A config field (or the flag that sets it) holds a value that cannot work; the message names the field. */
export class ConfigError extends UserError {
  override name = "ConfigError";
}

/** An input video cannot be used: no such file, not a video, damaged, or the output would overwrite it. */
export class InputVideoError extends UserError {
  override name = "InputVideoError";
}

/**
 * An output could not be written: the disk is full, the folder is not writable, the device
 * failed. `code` is the system's name for the cause (ENOSPC, EACCES, EIO, EDQUOT, EROFS).
 */
export class OutputError extends UserError {
  override name = "OutputError";
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}
