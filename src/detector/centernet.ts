import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type * as tfjs from "@tensorflow/tfjs";
import { ConfigError } from "../errors.js";
import { loadTensorflow, type Tf } from "../tensorflow/load.js";
import type { Detection, Frame } from "../types.js";
import { COCO_LABELS } from "./coco.js";
import type { Detector, DetectorOptions } from "./detector.js";

const INPUT = 512;
const require = createRequire(import.meta.url);

/**
 * COCO object detector: CenterNet (MobileNetV3) as shipped inside @vladmandic/human (MIT),
 * run with TensorFlow.js on the same backend choice as the tfjs engine, in this thread
 * (the pipeline runs it in a worker: `startDetector`).
 */
export class CenternetDetector implements Detector {
  private constructor(
    private readonly tf: Tf,
    private readonly model: tfjs.GraphModel,
    private readonly options: DetectorOptions,
    readonly backend: string,
  ) {}

  static async load(options: DetectorOptions): Promise<CenternetDetector> {
    const unknown = options.classes.filter((c) => !(COCO_LABELS as readonly string[]).includes(c));
    if (unknown.length) throw new ConfigError(`detector.classes: not COCO labels: ${unknown.join(", ")} (e.g. person, car, bicycle, dog)`);
    const { tf, backendName } = await loadTensorflow(options.backend);
    // The package exports only its code (dist/); the models sit beside that folder.
    const folder = join(dirname(require.resolve("@vladmandic/human")), "..", "models");
    const json = JSON.parse(await readFile(join(folder, "centernet.json"), "utf8")) as tfjs.io.ModelJSON;
    const weights = await readFile(join(folder, "centernet.bin"));
    const manifest = json.weightsManifest[0];
    if (!manifest) throw new Error(`${folder}/centernet.json: no weights manifest`);
    const model = await tf.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: manifest.weights,
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
        ...(json.signature ? { signature: json.signature } : {}),
      }),
    );
    return new CenternetDetector(tf, model, options, backendName);
  }

  async detect(frame: Frame): Promise<Detection[]> {
    const { tf } = this;
    const input = tf.tidy(() =>
      tf.image.resizeBilinear(tf.tensor4d(frame.rgb, [1, frame.height, frame.width, 3], "int32").toFloat(), [INPUT, INPUT]),
    );
    const output = this.model.execute(input, "tower_0/detections") as tfjs.Tensor;
    input.dispose();
    // Rows of x1, y1, x2, y2 (input pixels), score, class index.
    const rows = ((await output.array()) as number[][][])[0] ?? [];
    output.dispose();
    const wanted = this.options.classes;
    const candidates = rows
      .filter(([, , , , score, cls]) => (score as number) >= this.options.minScore && Number.isFinite(cls))
      .map(([x1, y1, x2, y2, score, cls]) => ({
        label: COCO_LABELS[cls as number] ?? "unknown",
        score: score as number,
        box: scaleBox([x1 as number, y1 as number, x2 as number, y2 as number], frame.width, frame.height),
      }))
      .filter((d) => wanted.length === 0 || wanted.includes(d.label));
    return suppress(candidates, this.options.iou).slice(0, this.options.maxDetections);
  }

  async close(): Promise<void> {
    this.model.dispose();
  }
}

function scaleBox([x1, y1, x2, y2]: [number, number, number, number], width: number, height: number): [number, number, number, number] {
  const sx = width / INPUT;
  const sy = height / INPUT;
  const left = Math.max(0, x1 * sx);
  const top = Math.max(0, y1 * sy);
  return [left, top, Math.min(width, x2 * sx) - left, Math.min(height, y2 * sy) - top];
}

function iou(a: Detection["box"], b: Detection["box"]): number {
  const w = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  const inter = Math.max(0, w) * Math.max(0, h);
  return inter / (a[2] * a[3] + b[2] * b[3] - inter || 1);
}

/** Greedy non-maximum suppression within each class, best score first. */
function suppress(detections: Detection[], threshold: number): Detection[] {
  const kept: Detection[] = [];
  for (const d of [...detections].sort((a, b) => b.score - a.score)) {
    if (!kept.some((k) => k.label === d.label && iou(k.box, d.box) > threshold)) kept.push(d);
  }
  return kept;
}
