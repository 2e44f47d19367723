/**
 * Where a MAXIM frame's time goes: onnxruntime's own profile of one frame (the second: the first
 * allocates) of the converted graph at a frame size, as a table of op types and their share,
 * the rate each kind of product reaches (GFLOP/s, from the shapes onnxruntime ran: how far each
 * is from the machine's peak), the products by shape, and the costliest nodes with their input
 * shapes. With a count N, the graph is converted with
 * only the converter's first N rewrites (src/convert/convert-tfjs-model.ts REWRITES), so that
 * a table before a rewrite and after it can be set side by side.
 *
 *   npx tsx bench/maxim-profile.ts [WIDTHxHEIGHT] [N]     (default 320x240, all rewrites)
 *
 * Run it under the heavy-job lock (flock /tmp/heavy.lock): a frame keeps both cores busy.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { convertTfjsModel, REWRITES } from "../src/convert/convert-tfjs-model.js";
import { padded } from "../src/engine/engine.js";
import { sessionOptions } from "../src/engine/onnx-engine.js";
import { availableCores } from "../src/machine.js";
import { MAXIM, maximModelJson } from "../src/model/maxim.js";

const [width = 320, height = 240] = (process.argv[2] ?? "320x240").split("x").map(Number);
const count = process.argv[3] === undefined ? REWRITES.length : Number(process.argv[3]);
const [paddedHeight, paddedWidth] = [padded(height, MAXIM.stride), padded(width, MAXIM.stride)];
const rewrites = REWRITES.slice(0, count);

/** onnxruntime's list of a node's inputs or outputs, each as { type: dims }. */
type TypeShapes = readonly Record<string, readonly number[]>[];

interface ProfileEvent {
  readonly cat: string;
  readonly name: string;
  readonly ts: number;
  readonly dur: number;
  readonly args?: {
    readonly op_name?: string;
    readonly input_type_shape?: TypeShapes;
    readonly output_type_shape?: TypeShapes;
  };
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** The dims of each input or output in onnxruntime's list ([] where it gives none). */
const dimsOf = (list: TypeShapes = []) => list.map((s) => Object.values(s)[0] ?? []);

function inputShapes(e: ProfileEvent): string {
  return (e.args?.input_type_shape ?? []).map((s) => Object.values(s)[0]?.join("x") ?? "?").join(" ");
}

/**
 * 2 x the multiply-adds of one kernel of a product (onnxruntime's fused ops included), from the
 * shapes onnxruntime profiled; 0 for the rest. A product's inner extent is the one of its left
 * operand's last two axes that its output does not keep, whether or not the op transposes it
 * (a constant weight on the right is not in the profile, but the output tells its width).
 */
function flops(e: ProfileEvent): number {
  const [x = [], w = []] = dimsOf(e.args?.input_type_shape);
  const [y = []] = dimsOf(e.args?.output_type_shape);
  switch (e.args?.op_name) {
    // onnxruntime leaves a weight it has packed out of the shapes: such a kernel counts 0.
    case "Conv":
    case "FusedConv":
      return w.length === 4 ? 2 * product(y) * product(w.slice(1)) : 0;
    case "ConvTranspose":
      return w.length === 4 ? 2 * product(x) * product(w.slice(1)) : 0;
    case "MatMul":
    case "FusedMatMul":
    case "Gemm":
    case "MatMulInteger":
    case "MatMulIntegerToFloat":
    case "DynamicQuantizeMatMul": {
      const [rows, columns] = x.slice(-2);
      const inner = rows === y.at(-2) ? columns : rows;
      return 2 * product(y) * (inner ?? 0);
    }
    default:
      return 0;
  }
}

interface Tally {
  readonly us: number;
  readonly nodes: number;
  readonly flops: number;
}

/** Kernels grouped by `key`: their time (us), count and FLOPs. */
function tally(kernels: readonly ProfileEvent[], key: (e: ProfileEvent) => string): Map<string, Tally> {
  const groups = new Map<string, Tally>();
  for (const e of kernels) {
    const name = key(e);
    const group = groups.get(name) ?? { us: 0, nodes: 0, flops: 0 };
    groups.set(name, { us: group.us + e.dur, nodes: group.nodes + 1, flops: group.flops + flops(e) });
  }
  return groups;
}

const folder = await mkdtemp(join(tmpdir(), "maxim-profile-"));
try {
  const bytes = await convertTfjsModel(maximModelJson(), {
    inputShapes: { xs_0: [1, paddedHeight, paddedWidth, 3] },
    pixels: { height: paddedHeight, width: paddedWidth },
    rewrites: rewrites.map(([, rewrite]) => rewrite),
  });
  const model = join(folder, "maxim.onnx");
  await writeFile(model, bytes);
  const session = await ort.InferenceSession.create(model, { ...sessionOptions(availableCores(), "cpu", false), enableProfiling: true, profileFilePrefix: join(folder, "profile") });
  const feeds = { rgb: new ort.Tensor("uint8", new Uint8Array(height * width * 3).fill(128), [1, height, width, 3]) };
  await session.run(feeds);
  const started = performance.now();
  await session.run(feeds);
  const seconds = (performance.now() - started) / 1000;
  session.endProfiling();
  await session.release();
  const [profileFile] = (await import("node:fs")).readdirSync(folder).filter((f) => f.startsWith("profile"));
  if (!profileFile) throw new Error(`onnxruntime wrote no profile into ${folder}`);
  const events = JSON.parse(await readFile(join(folder, profileFile), "utf8")) as ProfileEvent[];
  const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run");
  const last = runs.at(-1);
  if (!last) throw new Error("the profile holds no model_run");
  const kernels = events.filter((e) => e.cat === "Node" && e.name.endsWith("_kernel_time") && e.ts >= last.ts && e.ts <= last.ts + last.dur);
  const total = kernels.reduce((sum, e) => sum + e.dur, 0);
  const byOp = tally(kernels, (e) => e.args?.op_name ?? "?");
  const totalFlops = [...byOp.values()].reduce((sum, { flops }) => sum + flops, 0);
  const names = rewrites.map(([name]) => name).join(", ") || "none";
  console.log(`${width}x${height} (padded ${paddedWidth}x${paddedHeight}), rewrites: ${names}; ${availableCores()} threads; frame ${seconds.toFixed(2)} s, kernels ${(total / 1e6).toFixed(2)} s, ${kernels.length} kernels`);
  console.log(`products: ${(totalFlops / 1e9).toFixed(1)} GFLOP a frame, ${(totalFlops / total / 1e3).toFixed(0)} GFLOP/s over all its kernels' time`);
  console.log("| op | nodes | ms | share | GFLOP | GFLOP/s |\n| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const [op, { us, nodes, flops }] of [...byOp].sort((a, b) => b[1].us - a[1].us)) {
    if (us / total < 0.002) continue;
    const rate = flops ? `| ${(flops / 1e9).toFixed(1)} | ${(flops / us / 1e3).toFixed(0)} |` : "| | |";
    console.log(`| ${op} | ${nodes} | ${(us / 1000).toFixed(0)} | ${((100 * us) / total).toFixed(1)}% ${rate}`);
  }
  // The products by op and shapes: which of them run far under the machine's rate.
  const byShape = tally(kernels.filter((e) => flops(e) > 0), (e) => `${e.args?.op_name} [${inputShapes(e)}]`);
  console.log("\nthe costliest products, by shapes:\n| op [input shapes] | nodes | ms | GFLOP/s |\n| --- | ---: | ---: | ---: |");
  for (const [key, { us, nodes, flops }] of [...byShape].sort((a, b) => b[1].us - a[1].us).slice(0, 15)) {
    console.log(`| ${key} | ${nodes} | ${(us / 1000).toFixed(0)} | ${(flops / us / 1e3).toFixed(0)} |`);
  }
  const top = Number(process.env.MAXIM_PROFILE_TOP ?? 25);
  console.log(`\nthe ${top} costliest nodes:`);
  for (const e of [...kernels].sort((a, b) => b.dur - a.dur).slice(0, top)) {
    console.log(`${(e.dur / 1000).toFixed(1).padStart(7)} ms ${e.args?.op_name ?? "?"} ${e.name.replace(/_kernel_time$/, "")} [${inputShapes(e)}]`);
  }
} finally {
  await rm(folder, { recursive: true, force: true });
}
