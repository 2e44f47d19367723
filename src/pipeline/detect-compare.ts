import { lastValueFrom, map, zip, type Observable } from "rxjs";
import { probe } from "../ffmpeg/probe.js";
import type { Engine } from "../engine/engine.js";
import type { Detector } from "../detector/detector.js";
import { fileSource } from "../sources/file.js";
import type { Detection, Frame } from "../types.js";
import { Credits, boundedInOrder } from "./bounded-in-order.js";
import { deblur } from "./deblur.js";
import type { DeblurStreamOptions } from "../deblur/deblur-stream.js";

/** deblur's options (the config's deblur section: state, tiles, regions) and what to compare. */
export interface CompareOptions extends DeblurStreamOptions {
  readonly input: string;
  /** The sharp truth of `input`, frame for frame, when known (a synthesized clip). */
  readonly reference: string | null;
  readonly engine: Engine;
  readonly detector: Detector;
  /** Compare every Nth frame. */
  readonly every: number;
  /** How many frames to keep for the report's side-by-side pictures (those with most detections). */
  readonly samples: number;
}

export type Variant = "blurred" | "deblurred" | "reference";

export interface ClassTally {
  readonly label: string;
  /** Per variant: detections counted and their mean score. */
  readonly counts: Partial<Record<Variant, { count: number; meanScore: number }>>;
}

export interface Sample {
  readonly index: number;
  readonly frames: Partial<Record<Variant, { frame: Frame; detections: readonly Detection[] }>>;
}

export interface Comparison {
  readonly input: string;
  readonly frames: number;
  readonly variants: readonly Variant[];
  readonly classes: readonly ClassTally[];
  readonly samples: readonly Sample[];
}

/**
 * What deblurring buys a detector: run it on the blurred frames of a video and on their
 * deblurred versions (and on the sharp truth when there is one), every Nth frame, and tally
 * detections and mean score per class. Lossless and bounded like the batch pipeline.
 */
export async function detectCompare(options: CompareOptions): Promise<Comparison> {
  const info = await probe(options.input);
  // Each decoder holds four frames at most; a pair's slots come back after the detector.
  const inputSlots = new Credits(4);
  const slots = [inputSlots];
  const deblurred = fileSource(options.input, info, { gate: inputSlots }).pipe(
    deblur(options.engine, options),
  );
  let pairs: Observable<{ original: Frame; sharp: Frame; reference: Frame | null }> = deblurred.pipe(
    map(({ original, sharp }) => ({ original, sharp, reference: null })),
  );
  if (options.reference) {
    const referenceSlots = new Credits(4);
    slots.push(referenceSlots);
    const reference = fileSource(options.reference, await probe(options.reference), { gate: referenceSlots });
    pairs = zip(deblurred, reference).pipe(map(([{ original, sharp }, truth]) => ({ original, sharp, reference: truth })));
  }

  const variants: Variant[] = options.reference ? ["blurred", "deblurred", "reference"] : ["blurred", "deblurred"];
  const tallies = new Map<string, Map<Variant, { count: number; scoreSum: number }>>();
  const samples: Sample[] = [];
  let frames = 0;

  const look = async (original: Frame, sharp: Frame, reference: Frame | null): Promise<void> => {
    frames++;
    const looked: Sample["frames"] = {};
    const inputs: [Variant, Frame | null][] = [["blurred", original], ["deblurred", sharp], ["reference", reference]];
    for (const [variant, frame] of inputs) {
      if (!frame) continue;
      const detections = await options.detector.detect(frame);
      looked[variant] = { frame, detections };
      for (const d of detections) {
        const perClass = tallies.get(d.label) ?? new Map<Variant, { count: number; scoreSum: number }>();
        const t = perClass.get(variant) ?? { count: 0, scoreSum: 0 };
        perClass.set(variant, { count: t.count + 1, scoreSum: t.scoreSum + d.score });
        tallies.set(d.label, perClass);
      }
    }
    keepBusiest(samples, { index: original.index, frames: looked }, options.samples);
  };

  await lastValueFrom(
    pairs.pipe(
      boundedInOrder(slots, async ({ original, sharp, reference }) => {
        if (original.index % options.every === 0) await look(original, sharp, reference);
      }),
    ),
    { defaultValue: undefined },
  );

  const classes = [...tallies.entries()]
    .map(([label, perClass]) => ({
      label,
      counts: Object.fromEntries([...perClass.entries()].map(([v, t]) => [v, { count: t.count, meanScore: t.scoreSum / t.count }])),
    }))
    .sort((a, b) => (b.counts.blurred?.count ?? 0) + (b.counts.deblurred?.count ?? 0) - (a.counts.blurred?.count ?? 0) - (a.counts.deblurred?.count ?? 0));
  return { input: options.input, frames, variants, classes, samples };
}

const detectionsIn = (s: Sample) => Object.values(s.frames).reduce((n, v) => n + v.detections.length, 0);

/** Keep the `limit` samples with the most detections, in frame order. */
function keepBusiest(samples: Sample[], sample: Sample, limit: number): void {
  samples.push(sample);
  if (samples.length <= limit) return;
  const quietest = samples.reduce((q, s, i) => (detectionsIn(s) < detectionsIn(samples[q] as Sample) ? i : q), 0);
  samples.splice(quietest, 1);
}
