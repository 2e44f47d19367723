import { describe, expect, it } from "vitest";
import { drawBoxes } from "../../src/sinks/draw-boxes.js";

describe("drawBoxes", () => {
  it("outlines each box in red and leaves the rest of the frame alone", () => {
    const frame = { stream: "s", index: 0, ptsMs: 0, width: 40, height: 30, rgb: new Uint8Array(40 * 30 * 3).fill(100) };
    const drawn = drawBoxes(frame, [{ label: "person", score: 0.9, box: [10, 5, 20, 15] }]);
    const at = (x: number, y: number) => Array.from(drawn.rgb.subarray((y * 40 + x) * 3, (y * 40 + x) * 3 + 3));
    expect(at(10, 5)).toEqual([255, 48, 48]);
    expect(at(30, 20)).toEqual([255, 48, 48]);
    expect(at(20, 12)).toEqual([100, 100, 100]);
    expect(at(2, 2)).toEqual([100, 100, 100]);
    expect(frame.rgb[(5 * 40 + 10) * 3]).toBe(100); // the input frame is not modified
  });
});
