import type { Frame } from "../../types.js";

/** A picture given to a recording's encoder, and when it came (performance.now()'s clock). */
export interface TimedPicture {
  readonly picture: Frame;
  readonly atMs: number;
}

/**
 * The pictures a recording's encoder was given that its file may not hold yet: an encoder
 * holds seconds of video before any of it reaches the disk (x264's lookahead, 40 frames at
 * the medium preset, and the fragment being filled, up to a second), so a killed encoder took
 * 51 of 146 frames with it in issue 37's drill. A segment that fails says how many of its
 * frames its file kept; the ones after those, still held here, can go into the next segment.
 * At most `limitBytes` of the latest pictures are held, the oldest let go first.
 */
export class UnconfirmedFrames {
  private held: TimedPicture[] = [];
  private heldBytes = 0;
  /** Pictures given to the segment in all, held or let go. */
  private given = 0;

  constructor(private readonly limitBytes: number) {}

  add(timed: TimedPicture): void {
    this.held.push(timed);
    this.heldBytes += timed.picture.rgb.length;
    this.given++;
    while (this.heldBytes > this.limitBytes && this.held.length > 1) this.heldBytes -= this.held.shift()?.picture.rgb.length ?? 0;
  }

  /**
   * The segment ended with its first `kept` pictures in its file: those after them that are
   * held, oldest first, and how many after them are gone beyond recall. Starts afresh.
   */
  takeAfter(kept: number): { readonly unwritten: TimedPicture[]; readonly lost: number } {
    const firstHeld = this.given - this.held.length;
    const unwritten = this.held.slice(Math.max(0, kept - firstHeld));
    const lost = Math.max(0, firstHeld - kept);
    this.clear();
    return { unwritten, lost };
  }

  /** The segment is finished and whole: nothing of it is in doubt. */
  clear(): void {
    this.held = [];
    this.heldBytes = 0;
    this.given = 0;
  }
}
