import { readdirSync, rmSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Subject } from "rxjs";
import { describe, expect, it, vi } from "vitest";
import { log } from "../../src/log.js";
import { attachOutput } from "../../src/pipeline/attach-output.js";
import type { LiveFrame } from "../../src/pipeline/live.js";
import { StreamMetrics } from "../../src/pipeline/metrics.js";
import { recordingOutput } from "../../src/pipeline/outputs/recording.js";
import { WORK, decodeAll, streamInfo } from "../helpers/clips.js";
import { ffmpegsWith } from "../helpers/processes.js";
import { until } from "../helpers/until.js";

const [WIDTH, HEIGHT] = [64, 48];

/** Frame `index`, arriving now, a flat grey that tells it from its neighbours after x264: 4 levels a step. */
function liveFrame(index: number): LiveFrame {
  const frame = { stream: "cam", index, ptsMs: index * 40, receivedAtMs: Date.now(), width: WIDTH, height: HEIGHT, rgb: new Uint8Array(WIDTH * HEIGHT * 3).fill(level(index)) };
  return { original: frame, sharp: frame, deblurredShare: 1, inferenceMs: 1, latencyMs: 1 };
}

const level = (index: number) => 16 + ((index * 4) % 224);

/** Which frame a decoded picture is, by its grey: the nearest level among frames `from` onwards. */
function frameOf(picture: Buffer, from: number): number {
  const grey = picture.reduce((sum, value) => sum + value, 0) / picture.length;
  for (let index = from; index < from + 56; index++) if (Math.abs(level(index) - grey) < 2) return index;
  throw new Error(`no frame from ${from} on has the grey ${grey.toFixed(1)}`);
}

describe("a recording whose encoder dies", () => {
  it("writes the frames the dead encoder took but never wrote into the next segment, in order: none lost, none twice", { timeout: 120_000 }, async () => {
    const said: string[] = [];
    vi.spyOn(log, "warn").mockImplementation(() => undefined);
    vi.spyOn(log, "info").mockImplementation((line) => void said.push(String(line)));
    const folder = join(WORK, "recording-replay");
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { recursive: true });
    const metrics = new StreamMetrics();
    const frames = new Subject<LiveFrame>();
    // x264's medium preset, a recording's default: a lookahead of 40 frames, none on disk until it is through.
    const spec = recordingOutput({ stream: "cam", path: join(folder, "rec.mp4"), segmentMs: null, encode: { codec: "libx264", crf: 18, preset: "medium", lossless: false }, picture: (frame) => frame.sharp });
    const attached = attachOutput(frames, spec, { stream: "cam", backoff: { initialMs: 50, maxMs: 50 }, metrics });
    const recording = () => metrics.outputs.get("recording");
    /** Up: its segment's file has grown past its header (Recording.up). */
    const up = () => recording()?.downSinceMs === null;
    let sent = 0;
    // A camera at 25 frames a second: the fragments are cut by the frames' wallclock times.
    const camera = setInterval(() => frames.next(liveFrame(sent++)), 40);
    try {
      await until(up, 60_000, "the first segment's first fragment on disk");
      const [encoder, ...others] = ffmpegsWith(folder);
      expect(others).toEqual([]);
      process.kill(encoder as number, "SIGKILL");
      await until(() => recording()?.failures === 1 && up(), 60_000, "the next segment up");
      const stopAt = sent + 25;
      await until(() => sent >= stopAt, 30_000, "25 frames more");
    } finally {
      clearInterval(camera);
      frames.complete();
      await attached.done;
      vi.restoreAllMocks();
    }

    const files = readdirSync(folder);
    const next = files.find((name) => name !== "rec.mp4") ?? "";
    expect(files.sort()).toEqual([next, "rec.mp4"].sort());
    expect(next).toMatch(/^rec-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.mp4$/);
    const [first, second] = [decodeAll(join(folder, "rec.mp4"), WIDTH, HEIGHT), decodeAll(join(folder, next), WIDTH, HEIGHT)];
    const [, kept, carried] = /rec\.mp4 keeps the (\d+) frames written before the failure; (\d+) frames wait for the next segment$/m.exec(said.join("\n"))?.map(Number) ?? [];
    expect(first).toHaveLength(kept as number);
    expect(carried, "frames the dead encoder held").toBeGreaterThan(0);
    // The second segment begins with the frame after the first one's last, however many the encoder held.
    let after = 0;
    const recorded = [...first, ...second].map((picture) => (after = frameOf(picture, after) + 1) - 1);
    expect(recorded.slice(0, (kept as number) + 1)).toEqual([...Array((kept as number) + 1).keys()]);
    // Every frame sent, once: those the dead encoder held, and those that came while the
    // recording waited out its backoff (held by attachOutput for the next run).
    expect(recorded).toEqual([...Array(sent).keys()]);
    expect(recording()?.dropped ?? 0).toBe(0);
    // Each at the time it arrived, 40 ms apart, those written late too: not bunched at the time
    // they reached the next encoder.
    const times = streamInfo(join(folder, next), "v:0").pts;
    const gaps = times.slice(1).map((time, i) => time - (times[i] as number));
    expect(Math.min(...gaps.slice(0, carried as number))).toBeGreaterThan(0.03);
  });
});
