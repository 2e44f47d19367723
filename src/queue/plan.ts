/** One chunk of a long video: `count` frames from index `first`. */
export interface Chunk {
  readonly first: number;
  readonly count: number;
}

/**
 * Cut `frames` frames into chunks of about `seconds` at `fps`, of nearly equal length (never a
 * stub at the end). A chunk may start anywhere: each is decoded from the file's start (see
 * fileSource's range) and encoded on its own, so no key frame needs to sit at its boundary.
 */
export function planChunks(frames: number, fps: number, seconds: number): Chunk[] {
  const count = Math.max(1, Math.round(frames / Math.max(1, Math.round(seconds * fps))));
  return Array.from({ length: count }, (_, i) => {
    const first = Math.round((i * frames) / count);
    return { first, count: Math.round(((i + 1) * frames) / count) - first };
  });
}
