import { lastValueFrom, take, toArray } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probe } from "../../src/ffmpeg/probe.js";
import { DeblurStream } from "../../src/deblur/deblur-stream.js";
import type { Engine } from "../../src/engine/engine.js";
import { MotionDetector } from "../../src/deblur/motion.js";
import { createOnnxEngine } from "../../src/engine/onnx-engine.js";
import type { Region } from "../../src/engine/pixels.js";
import { composite, planRegions } from "../../src/deblur/regions.js";
import { fileSource } from "../../src/sources/file.js";
import type { Frame } from "../../src/types.js";
import { PEDESTRIANS, REPO } from "../helpers/clips.js";

const LITE = `${REPO}/models/dsanet-lite.onnx`;
const SQUARE = 40;

let background: Frame;
let engine: Engine;
beforeAll(async () => {
  background = await lastValueFrom(fileSource(PEDESTRIANS, await probe(PEDESTRIANS)).pipe(take(1)));
  engine = await createOnnxEngine({ model: LITE, scales: 2, threads: 1, provider: "cpu" });
});
afterAll(() => engine.close());

/** The street of the sample, still, with a square of coarse noise at (x, y): something that moves when x changes. */
function withSquare(index: number, x: number, y: number): Frame {
  const rgb = Uint8Array.from(background.rgb);
  for (let row = 0; row < SQUARE; row++) {
    for (let col = 0; col < SQUARE; col++) {
      const value = (Math.imul((row >> 3) * 31 + (col >> 3), 2654435761) >>> 24) & 255;
      const p = ((y + row) * background.width + x + col) * 3;
      rgb.fill(value, p, p + 3);
    }
  }
  return { ...background, index, rgb };
}

function inside(point: { x: number; y: number }, box: Region): boolean {
  return point.x >= box.x && point.x < box.x + box.width && point.y >= box.y && point.y < box.y + box.height;
}

describe("motion detector", () => {
  it("sees the whole first frame, nothing on a still picture, and a box around what moves", () => {
    const detector = new MotionDetector();
    expect(detector.detect(withSquare(0, 100, 300))).toEqual({ kind: "whole", reason: "first frame" });
    expect(detector.detect(withSquare(1, 100, 300))).toEqual({ kind: "regions", boxes: [] });
    const motion = detector.detect(withSquare(2, 116, 300));
    if (motion.kind !== "regions") throw new Error(`expected regions, got ${motion.kind}`);
    expect(motion.boxes).toHaveLength(1);
    const [box] = motion.boxes as [Region];
    // Around the square where it went, and not much more than it and where it came from.
    expect(inside({ x: 116 + SQUARE / 2, y: 300 + SQUARE / 2 }, box)).toBe(true);
    expect(box.width * box.height).toBeLessThan(4 * (SQUARE + 16) * SQUARE);
  });

  it("takes a change of the whole picture (lights, a moving camera) for the whole frame, then settles", () => {
    const detector = new MotionDetector();
    detector.detect(background);
    const brighter = { ...background, index: 1, rgb: background.rgb.map((v) => Math.min(255, v + 60)) };
    expect(detector.detect(brighter)).toEqual({ kind: "whole", reason: "whole-frame change" });
    expect(detector.detect({ ...brighter, index: 2 })).toEqual({ kind: "regions", boxes: [] });
    expect(detector.detect({ ...brighter, index: 3, discontinuity: true })).toEqual({ kind: "whole", reason: "first frame" });
  });

  it("finds the walkers of the real street clip, a small share of the picture", async () => {
    const frames = await lastValueFrom(fileSource(PEDESTRIANS, await probe(PEDESTRIANS)).pipe(toArray()));
    const detector = new MotionDetector();
    const shares = frames.map((frame) => {
      const motion = detector.detect(frame);
      return motion.kind === "whole" ? 1 : motion.boxes.reduce((sum, b) => sum + b.width * b.height, 0) / (frame.width * frame.height);
    });
    expect(shares[0]).toBe(1);
    const later = shares.slice(1);
    expect(Math.min(...later)).toBeGreaterThan(0);
    expect(Math.max(...later)).toBeLessThan(0.3);
  });
});

describe("motion-gated regions", () => {
  const maximTiles = { margin: 16, context: 0, overlap: 32, stride: 64, tileLimit: 256, memoryTile: () => null };
  const ownSizes = { ...maximTiles, stride: 32, tileLimit: null };

  it("merge where one area costs no more than two, and run their tiles packed onto the fewest padded pixels", () => {
    const head = { x: 100, y: 100, width: 20, height: 20 };
    const legs = { x: 100, y: 130, width: 20, height: 20 };
    const plan = planRegions([head, legs, { x: 500, y: 400, width: 100, height: 70 }], 640, 480, maximTiles);
    expect(plan.areas.map(({ x, y, width, height }) => [x, y, width, height])).toEqual([[84, 84, 52, 82], [484, 384, 132, 96]]);
    expect(plan.tiles).toEqual(plan.areas);
    // Apart, MAXIM would pad them to 64x128 and 192x128; side by side they fit one 192x128.
    expect(plan.sheets).toEqual([{ width: 184, height: 96, placements: [{ tile: 1, x: 0, y: 0 }, { tile: 0, x: 132, y: 0 }], source: null }]);
    expect(plan.modelPixels).toBe(192 * 128);
  });

  it("stay apart where their union would cover much that did not move, and run at their own size where the engine allows", () => {
    const plan = planRegions([{ x: 100, y: 100, width: 20, height: 100 }, { x: 150, y: 190, width: 20, height: 100 }], 640, 480, ownSizes);
    expect(plan.areas).toHaveLength(2);
    expect(plan.sheets.map(({ width, height }) => [width, height])).toEqual([[64, 160], [64, 160]]);
  });

  it("run an area larger than the engine's tile limit in the fewest tiles of the shortest sides that cover it", () => {
    const plan = planRegions([{ x: 0, y: 0, width: 300, height: 100 }], 640, 480, maximTiles);
    expect(plan.tiles.map(({ x, y, width, height }) => [x, y, width, height])).toEqual([[0, 0, 192, 116], [124, 0, 192, 116]]);
    expect(plan.sheets).toHaveLength(2);
  });

  it("show the model the frame around an area, and take back only the area", () => {
    const plan = planRegions([{ x: 100, y: 100, width: 20, height: 20 }], 640, 480, { ...maximTiles, context: 16 });
    expect(plan.areas.map(({ x, y, width, height }) => [x, y, width, height])).toEqual([[84, 84, 52, 52]]);
    expect(plan.tiles.map(({ x, y, width, height }) => [x, y, width, height])).toEqual([[68, 68, 84, 84]]);
    // Alone on its sheet, the tile gets more of the frame where the model would pad it to its stride.
    expect(plan.sheets).toEqual([{ width: 128, height: 128, placements: [{ tile: 0, x: 22, y: 22 }], source: { x: 46, y: 46, width: 128, height: 128 } }]);
    const own = planRegions([{ x: 100, y: 100, width: 20, height: 20 }], 640, 480, { ...ownSizes, context: 16 });
    expect(own.sheets.map((sheet) => sheet.source)).toEqual([{ x: 62, y: 62, width: 96, height: 96 }]);
  });

  it("change only their areas: every byte outside is the input's, blended in across a feathered border", () => {
    const plan = planRegions([{ x: 200, y: 200, width: 40, height: 40 }], 640, 480, maximTiles);
    const white = plan.tiles.map((t) => new Uint8Array(t.width * t.height * 3).fill(255));
    const out = composite(background.rgb, 640, 480, plan, white, 8, 32);
    const [area] = plan.areas as [Region];
    let outsideChanged = 0;
    for (let p = 0; p < 640 * 480; p++) {
      const point = { x: p % 640, y: Math.floor(p / 640) };
      if (!inside(point, area) && out[p * 3] !== background.rgb[p * 3]) outsideChanged++;
    }
    expect(outsideChanged).toBe(0);
    const at = (x: number, y: number) => out[(y * 640 + x) * 3] as number;
    expect(at(area.x + area.width / 2, area.y + area.height / 2)).toBe(255);
    // Inside the feather, between the input and the model's output.
    const edge = at(area.x, area.y + area.height / 2);
    const original = background.rgb[((area.y + area.height / 2) * 640 + area.x) * 3] as number;
    expect(edge).toBeGreaterThan(original);
    expect(edge).toBeLessThan(255);
  });

  it("through the model: a still frame passes untouched, a moving square is deblurred and the background keeps its bytes", async () => {
    const stream = new DeblurStream(engine, { carryState: true, tile: null, overlap: 32, memoryLimitMB: null, regions: "auto" });
    const first = await stream.deblur(withSquare(0, 100, 300));
    expect(first.deblurredShare).toBe(1);
    const still = await stream.deblur(withSquare(1, 100, 300));
    expect(still.deblurredShare).toBe(0);
    expect(Buffer.from(still.sharp.rgb).equals(Buffer.from(withSquare(1, 100, 300).rgb))).toBe(true);
    const moved = withSquare(2, 116, 300);
    const gated = await stream.deblur(moved);
    expect(gated.deblurredShare).toBeGreaterThan(0);
    expect(gated.deblurredShare).toBeLessThan(0.2);
    const far = (row: number, col: number) => gated.sharp.rgb[(row * 640 + col) * 3] === moved.rgb[(row * 640 + col) * 3];
    // The far corners are background: its bytes, not the model's.
    expect([far(10, 10), far(10, 630), far(470, 630)]).toEqual([true, true, true]);
    // The square itself went through the model.
    const square = (image: Uint8Array) => image.subarray((316 * 640 + 116) * 3, (316 * 640 + 156) * 3);
    expect(Buffer.from(square(gated.sharp.rgb)).equals(Buffer.from(square(moved.rgb)))).toBe(false);
    stream.close();
  });
});
