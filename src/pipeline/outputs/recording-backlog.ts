import type { Frame } from "../../types.js";

/** A picture for a recording, and when its camera's frame arrived (ms, Date.now()'s clock). */
export interface TimedPicture {
  readonly picture: Frame;
  readonly atMs: number;
}

/**
 * A recording's pictures that are not known to be in a file yet: those waiting for a segment,
 * and those its encoder has taken. An encoder holds seconds of video before any of it reaches
 * the disk (x264's lookahead, 40 frames at the medium preset, and the fragment being filled,
 * up to a second), so a killed encoder took 51 of 146 frames with it in issue 37's drill. A
 * segment that fails says how many of its frames its file kept; the ones after those go back
 * to wait for the next segment, before the ones that came since. At most `limitBytes` are
 * held, the oldest let go first (a disk full for hours cannot fill the memory).
 */
export class RecordingBacklog {
  /** Taken by the segment's encoder, the latest of them; `taken` counts them all. */
  private inEncoder: TimedPicture[] = [];
  private taken = 0;
  private waiting: TimedPicture[] = [];
  private bytes = 0;
  /** Waiting pictures let go to keep within the limit, since the last failure was told. */
  private letGo = 0;

  constructor(private readonly limitBytes: number) {}

  add(timed: TimedPicture): void {
    this.waiting.push(timed);
    this.bytes += timed.picture.rgb.length;
    // The encoder's oldest go first: most of them are in the file by now (segmentFailed counts
    // those that were not).
    while (this.bytes > this.limitBytes && this.inEncoder.length + this.waiting.length > 1) {
      const fromEncoder = this.inEncoder.length > 0;
      const oldest = fromEncoder ? this.inEncoder.shift() : this.waiting.shift();
      this.bytes -= oldest?.picture.rgb.length ?? 0;
      if (!fromEncoder) this.letGo++;
    }
  }

  /** The next picture for the segment's encoder, oldest first; null when none waits. */
  take(): TimedPicture | null {
    const next = this.waiting.shift();
    if (!next) return null;
    this.inEncoder.push(next);
    this.taken++;
    return next;
  }

  /**
   * The segment failed with its first `kept` pictures in its file: those after them go back to
   * wait. Returns how many now wait for the next segment, and how many of the pictures since
   * the last failure were let go to keep within the limit, neither in a file nor held.
   */
  segmentFailed(kept: number): { readonly waiting: number; readonly lost: number } {
    const firstHeld = this.taken - this.inEncoder.length;
    const back = this.inEncoder.slice(Math.max(0, kept - firstHeld));
    for (const gone of this.inEncoder.slice(0, this.inEncoder.length - back.length)) this.bytes -= gone.picture.rgb.length;
    this.waiting.unshift(...back);
    const lost = this.letGo + Math.max(0, firstHeld - kept);
    this.inEncoder = [];
    this.taken = 0;
    this.letGo = 0;
    return { waiting: this.waiting.length, lost };
  }

  /** The segment is finished and whole: what its encoder took is in its file. */
  segmentDone(): void {
    for (const done of this.inEncoder) this.bytes -= done.picture.rgb.length;
    this.inEncoder = [];
    this.taken = 0;
  }
}
