// Activation ranges for qdq.py: the augmented graph over the calibration clips (state carried),
// a graph of float planes or of RGB24 bytes alike.
//   node training/int8/calibrate.mjs WORK   (reads WORK/augmented.onnx, WORK/calibration.f32)
import { readFileSync, writeFileSync } from "node:fs";
import ort from "onnxruntime-node";

const work = process.argv[2];
const session = await ort.InferenceSession.create(`${work}/augmented.onnx`, { intraOpNumThreads: 2 });
const h = session.inputMetadata.find((input) => input.name === "h");
const channels = Number(h.shape[1]);
const bytes = readFileSync(`${work}/calibration.f32`);
const frames = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const [S, T] = [128, 3];
const size = 3 * S * S;
const ranges = { frame: [0, 1] };
// The graph's own input: float planes (export.py --float), or RGB24 bytes as the shipped graphs take them.
const input = (planes) => {
  if (!session.inputNames.includes("rgb")) return { frame: new ort.Tensor("float32", planes.slice(), [1, 3, S, S]) };
  const bytes = new Uint8Array(S * S * 3);
  for (let p = 0; p < S * S; p++) for (let c = 0; c < 3; c++) bytes[p * 3 + c] = Math.round(planes[c * S * S + p] * 255);
  return { rgb: new ort.Tensor("uint8", bytes, [1, S, S, 3]) };
};
for (let clip = 0; clip < frames.length / size / T; clip++) {
  const zeros = () => new ort.Tensor("float32", new Float32Array((channels * S * S) / 64), [1, channels, S / 8, S / 8]);
  let [hState, cState] = [zeros(), zeros()];
  for (let t = 0; t < T; t++) {
    const at = (clip * T + t) * size;
    const out = await session.run({ ...input(frames.subarray(at, at + size)), h: hState, c: cState });
    [hState, cState] = [out.h_out, out.c_out];
    for (const [name, value] of Object.entries(out)) {
      if (["sharp", "rgb_out", "h_out", "c_out"].includes(name)) continue;
      let [lo, hi] = ranges[name] ?? [Infinity, -Infinity];
      for (const x of value.data) [lo, hi] = [Math.min(lo, x), Math.max(hi, x)];
      ranges[name] = [lo, hi];
    }
  }
}
writeFileSync(`${work}/ranges.json`, JSON.stringify(ranges, null, 1));
console.log(`${Object.keys(ranges).length} activation ranges from ${frames.length / size} frames`);
