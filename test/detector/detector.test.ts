import { readFileSync } from "node:fs";
import { join } from "node:path";
import { lastValueFrom, take, toArray } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probe } from "../../src/ffmpeg/probe.js";
import { createOnnxEngine } from "../../src/engine/onnx-engine.js";
import type { Engine } from "../../src/engine/engine.js";
import { deblurFile } from "../../src/pipeline/deblur-file.js";
import { CenternetDetector } from "../../src/detector/centernet.js";
import type { Detector } from "../../src/detector/detector.js";
import type { Detection } from "../../src/types.js";
import { startDetector } from "../../src/detector/start-detector.js";
import { JsonLinesSink } from "../../src/sinks/jsonl.js";
import { fileSource } from "../../src/sources/file.js";
import type { Frame } from "../../src/types.js";
import { MODEL, PEDESTRIANS, WORK, clip, streamInfo } from "../helpers/clips.js";

let detector: CenternetDetector;
let engine: Engine;
let frames: Frame[];
beforeAll(async () => {
  detector = await CenternetDetector.load({ backend: "auto", classes: [], minScore: 0.3, iou: 0.5, maxDetections: 50 });
  engine = await createOnnxEngine({ model: MODEL, scales: 3, threads: 1, provider: "cpu" });
  frames = await lastValueFrom(fileSource(PEDESTRIANS, await probe(PEDESTRIANS)).pipe(take(12), toArray()));
});
afterAll(async () => {
  await detector?.close();
  await engine?.close();
});

/** Share of the pixels inside `box` that changed between two frames (people walk; the street does not). */
function motionIn(a: Frame, b: Frame, box: Detection["box"] | null): number {
  const [x0, y0, w, h] = box ?? [0, 0, a.width, a.height];
  let moving = 0;
  let total = 0;
  for (let y = Math.floor(y0); y < Math.min(a.height, y0 + h); y++) {
    for (let x = Math.floor(x0); x < Math.min(a.width, x0 + w); x++) {
      const p = (y * a.width + x) * 3;
      const diff = Math.abs((a.rgb[p] as number) - (b.rgb[p] as number)) + Math.abs((a.rgb[p + 1] as number) - (b.rgb[p + 1] as number));
      if (diff > 30) moving++;
      total++;
    }
  }
  return moving / Math.max(total, 1);
}

describe("COCO detector", () => {
  it("finds the pedestrians of a real street scene, with boxes on the people", async () => {
    const first = frames[0] as Frame;
    const last = frames[11] as Frame;
    const people = (await detector.detect(first)).filter((d) => d.label === "person");
    expect(people.length).toBeGreaterThanOrEqual(3);
    for (const { box } of people) {
      expect(box[0]).toBeGreaterThanOrEqual(0);
      expect(box[0] + box[2]).toBeLessThanOrEqual(first.width);
    }
    // Walking people are taller than wide (a pair side by side may not be).
    expect(people.filter(({ box }) => box[3] > box[2]).length).toBeGreaterThanOrEqual(0.75 * people.length);
    // The boxes sit where things move, far more than the frame as a whole does.
    const inBoxes = people.map((p) => motionIn(first, last, p.box)).reduce((a, b) => a + b) / people.length;
    expect(inBoxes).toBeGreaterThan(3 * motionIn(first, last, null));
  });

  it("keeps only the classes asked for, and rejects labels COCO does not have", async () => {
    const onlyCars = await CenternetDetector.load({ backend: "auto", classes: ["car"], minScore: 0.3, iou: 0.5, maxDetections: 50 });
    expect((await onlyCars.detect(frames[0] as Frame)).every((d) => d.label === "car")).toBe(true);
    await onlyCars.close();
    await expect(CenternetDetector.load({ backend: "auto", classes: ["pedestrian"], minScore: 0.3, iou: 0.5, maxDetections: 50 })).rejects.toThrow(/not COCO labels: pedestrian/);
  });

  it("a detector slower than the stream skips its own inputs; the file still gets every frame", async () => {
    const input = clip("pedestrians-12.mp4", "-i", PEDESTRIANS, "-frames:v", "12", "-vf", "scale=320:240", "-c:v", "libx264");
    const output = join(WORK, "pedestrians-12-deblurred.mp4");
    const jsonl = join(WORK, "detections.jsonl");
    const slow: Detector = {
      backend: detector.backend,
      detect: async (frame: Frame) => {
        await new Promise((resolve) => setTimeout(resolve, 1500));
        return detector.detect(frame);
      },
      close: async () => undefined,
    };
    const sink = await JsonLinesSink.open(jsonl);
    const summary = await deblurFile({
      input, output, engine, carryState: true, tile: null, overlap: 32, memoryLimitMB: null, regions: "off", slots: 3,
      encode: { codec: "libx264", crf: 18, preset: "veryfast", lossless: false },
      detect: { detector: slow, every: 1, output: sink },
    });
    await sink.close();
    expect(summary.frames).toBe(12);
    expect(streamInfo(output, "v:0").pts).toHaveLength(12);
    expect(summary.detectorSkipped).toBeGreaterThan(0);
    expect(summary.detected + summary.detectorSkipped).toBe(12);

    const lines = readFileSync(jsonl, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { stream: string; index: number; ptsMs: number; detections: Detection[] });
    expect(lines).toHaveLength(summary.detected);
    for (const line of lines) {
      expect(line).toMatchObject({ stream: input, index: expect.any(Number), ptsMs: expect.any(Number) });
      for (const d of line.detections) expect(d).toMatchObject({ label: expect.any(String), score: expect.any(Number), box: [expect.any(Number), expect.any(Number), expect.any(Number), expect.any(Number)] });
    }
    expect(lines.some((l) => l.detections.some((d) => d.label === "person"))).toBe(true);
  });

  it("in its worker thread, finds what it finds in this one", async () => {
    const worker = await startDetector({ backend: "auto", classes: [], minScore: 0.3, iou: 0.5, maxDetections: 50 });
    try {
      const frame = frames[5] as Frame;
      expect(worker.backend).toBe(detector.backend);
      expect(await worker.detect(frame)).toEqual(await detector.detect(frame));
    } finally {
      await worker.close();
    }
    await expect(worker.detect(frames[0] as Frame)).rejects.toThrow(/detector is closed/);
    await expect(startDetector({ backend: "auto", classes: ["pedestrian"], minScore: 0.3, iou: 0.5, maxDetections: 50 })).rejects.toThrow(/not COCO labels: pedestrian/);
  });
});
