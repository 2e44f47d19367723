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

/** Hide credentials in URLs (rtsp://user:secret@host) before text reaches a log or an error. */
export function redact(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+(?::[^/\s@]*)?@/gi, "$1***@");
}
