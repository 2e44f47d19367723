// Held-out PSNR (evaluate.py's clips; the mean of per-frame PSNRs, where evaluate.py averages
// per clip: 0.05 dB apart) and speed at 640x384 of two
// graphs of the same model, side by side in one run.
//   node training/int8/compare.mjs FP32.onnx INT8.onnx WORK
import { readFileSync } from "node:fs";
import ort from "onnxruntime-node";

const [fp32, int8, work] = process.argv.slice(2);
const options = { intraOpNumThreads: 2, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all", extra: { session: { intra_op: { allow_spinning: "0" } } } };
const sessions = { fp32: await ort.InferenceSession.create(fp32, options), int8: await ort.InferenceSession.create(int8, options) };
const channels = Number(sessions.fp32.inputMetadata.find((input) => input.name === "h").shape[1]);
const zeros = (H, W) => new ort.Tensor("float32", new Float32Array((channels * H * W) / 64), [1, channels, H / 8, W / 8]);
const load = (name) => {
  const bytes = readFileSync(`${work}/${name}.f32`);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
};

const [S, T] = [256, 4];
const size = 3 * S * S;
for (const split of ["heavy", "mild"]) {
  const [blurred, sharp] = [load(`${split}-blurred`), load(`${split}-sharp`)];
  for (const [kind, session] of Object.entries(sessions)) {
    const psnr = {};
    for (const carry of [false, true]) {
      let sum = 0;
      for (let clip = 0; clip < blurred.length / size / T; clip++) {
        let [h, c] = [zeros(S, S), zeros(S, S)];
        for (let t = 0; t < T; t++) {
          const at = (clip * T + t) * size;
          const out = await session.run({ frame: new ort.Tensor("float32", blurred.slice(at, at + size), [1, 3, S, S]), h, c });
          if (carry) [h, c] = [out.h_out, out.c_out];
          let squared = 0;
          for (let i = 0; i < size; i++) squared += (out.sharp.data[i] - sharp[at + i]) ** 2;
          sum += 10 * Math.log10(1 / Math.max(squared / size, 1e-12));
        }
      }
      psnr[carry ? "carried" : "per frame"] = (sum / (blurred.length / size)).toFixed(2);
    }
    console.log(`${split} ${kind}: PSNR per frame ${psnr["per frame"]} dB, carried ${psnr.carried} dB`);
  }
}

// A multiple of 32: DSANet's three scales need it (368 ran Lite only, whose stride is 16).
const [H, W] = [384, 640];
const frame = new ort.Tensor("float32", new Float32Array(3 * H * W).fill(0.5), [1, 3, H, W]);
const times = { fp32: [], int8: [] };
for (let round = 0; round < 31; round++) {
  for (const [kind, session] of Object.entries(sessions)) {
    const started = performance.now();
    await session.run({ frame, h: zeros(H, W), c: zeros(H, W) });
    if (round > 0) times[kind].push(performance.now() - started);
  }
}
for (const [kind, t] of Object.entries(times)) {
  t.sort((a, b) => a - b);
  console.log(`${kind} at ${W}x${H}: median ${t[t.length >> 1].toFixed(1)} ms, fastest ${t[0].toFixed(1)} ms`);
}
