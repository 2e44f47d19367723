import { describe, expect, it } from "vitest";
import { RecordingBacklog, type TimedPicture } from "../../src/pipeline/outputs/recording-backlog.js";

/** Picture `index`, of 10 bytes. */
const picture = (index: number): TimedPicture => ({ picture: { stream: "cam", index, ptsMs: index, width: 1, height: 1, rgb: new Uint8Array(10) }, atMs: index });

function takeAll(backlog: RecordingBacklog): number[] {
  const taken: number[] = [];
  for (let next = backlog.take(); next; next = backlog.take()) taken.push(next.picture.index);
  return taken;
}

describe("RecordingBacklog", () => {
  it("gives back what a failed segment's file did not keep, before what came since", () => {
    const backlog = new RecordingBacklog(1000);
    for (let i = 0; i < 6; i++) backlog.add(picture(i));
    expect(takeAll(backlog)).toEqual([0, 1, 2, 3, 4, 5]);
    backlog.add(picture(6));
    expect(backlog.segmentFailed(2)).toEqual({ waiting: 5, lost: 0 });
    expect(takeAll(backlog)).toEqual([2, 3, 4, 5, 6]);
    backlog.segmentDone();
    backlog.add(picture(7));
    expect(takeAll(backlog)).toEqual([7]);
    expect(backlog.segmentFailed(0)).toEqual({ waiting: 1, lost: 0 });
  });

  it("holds at most its limit: the encoder's oldest go first, then the waiting ones, which it counts as lost", () => {
    const backlog = new RecordingBacklog(50); // five pictures
    for (let i = 0; i < 4; i++) backlog.add(picture(i));
    expect(takeAll(backlog)).toEqual([0, 1, 2, 3]);
    for (let i = 4; i < 7; i++) backlog.add(picture(i)); // 0 and 1 let go from the encoder's
    // The file kept none: 0 and 1 are gone with the encoder, 2 and 3 go back.
    expect(backlog.segmentFailed(0)).toEqual({ waiting: 5, lost: 2 });
    for (let i = 7; i < 10; i++) backlog.add(picture(i)); // the disk still full: 2, 3, 4 let go
    expect(takeAll(backlog)).toEqual([5, 6, 7, 8, 9]);
    expect(backlog.segmentFailed(5)).toEqual({ waiting: 0, lost: 3 });
  });
});
