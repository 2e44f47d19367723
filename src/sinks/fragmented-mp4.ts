import { closeSync, fstatSync, ftruncateSync, openSync, readSync } from "node:fs";

/**
 * Cut a fragmented MP4 (ftyp, moov, then moof + mdat pairs) back to its last whole fragment.
 * A write that failed half-way (a full disk), or an encoder killed mid-fragment (a second
 * Ctrl-C), leaves a torn box at the end: players stop there with an error, and some refuse
 * the file. Without it the file is clean to its last frame. A file that is not such an MP4 is
 * left as it is. Synchronous, reading box headers only: PartialFile calls it at exit, where
 * nothing can be awaited.
 */
export function trimToWholeFragments(path: string): void {
  const file = openSync(path, "r+");
  try {
    const { size } = fstatSync(file);
    const header = Buffer.alloc(16);
    let offset = 0;
    let kept = 0;
    while (offset + 8 <= size) {
      readSync(file, header, 0, 16, offset);
      const type = header.toString("latin1", 4, 8);
      // size 1: a 64-bit size follows; 0: the box runs to the end of the file (never whole here).
      const short = header.readUInt32BE(0);
      const length = short === 1 ? Number(header.readBigUInt64BE(8)) : short;
      if (length < 8 || offset + length > size) break;
      offset += length;
      if (type === "moov" || type === "mdat" || type === "mfra") kept = offset;
    }
    if (kept > 0 && kept < size) ftruncateSync(file, kept);
  } finally {
    closeSync(file);
  }
}
