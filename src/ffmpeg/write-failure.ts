import { OutputError } from "../errors.js";

/** ffmpeg prints the C library's strerror() text for a failed write; the system's name for each. */
const CAUSES: readonly { readonly text: string; readonly code: string }[] = [
  { text: "No space left on device", code: "ENOSPC" },
  { text: "Disk quota exceeded", code: "EDQUOT" },
  { text: "Permission denied", code: "EACCES" },
  { text: "Read-only file system", code: "EROFS" },
  { text: "Input/output error", code: "EIO" },
];

/**
 * The write failure an ffmpeg stderr line reports for `output`, or null. ffmpeg goes on after
 * a failed write and may even exit 0, and the pipe into it then fails with a bare EPIPE: its
 * own words are the only place the cause is named.
 */
export function writeFailure(output: string, line: string): OutputError | null {
  const cause = CAUSES.find(({ text }) => line.includes(text));
  return cause ? new OutputError(`${output}: cannot write: ${cause.text.toLowerCase()} (${cause.code})`, cause.code) : null;
}
