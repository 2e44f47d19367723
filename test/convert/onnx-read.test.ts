import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readOnnxWeights } from "../../src/convert/onnx-read.js";
import { REPO } from "../helpers/clips.js";

/*
 * The reader against the onnx package's own writer and reader (Python): what it reads from a
 * file is what onnx wrote into it, value for value.
 */

const dir = mkdtempSync(join(tmpdir(), "onnx-read-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function python(script: string): string {
  return execFileSync("/usr/bin/python3", ["-c", script], { cwd: REPO, encoding: "utf8" });
}

describe("readOnnxWeights", () => {
  it("reads float initializers from raw_data and from float_data, and the metadata; other types are left out", () => {
    const path = join(dir, "small.onnx");
    python(
      [
        "import numpy as np, onnx",
        "from onnx import TensorProto, helper, numpy_helper",
        "raw = numpy_helper.from_array(np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2) / 7, 'conv.weight')",
        "listed = helper.make_tensor('conv.bias', TensorProto.FLOAT, [2], [0.5, -1.25])",
        "shape = numpy_helper.from_array(np.array([1, -1], dtype=np.int64), 'shape')",
        "node = helper.make_node('Conv', ['x', 'conv.weight', 'conv.bias'], ['y'], pads=[0, 0, 1, 1])",
        "x = helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 3, 4, 4])",
        "y = helper.make_tensor_value_info('y', TensorProto.FLOAT, None)",
        "model = helper.make_model(helper.make_graph([node], 'g', [x], [y], [raw, listed, shape]))",
        "model.metadata_props.add(key='dsanet.config', value='{\"scales\": 2}')",
        "model.metadata_props.add(key='note', value='ü')",
        `onnx.save(model, '${path}')`,
      ].join("\n"),
    );
    const { metadata, floats } = readOnnxWeights(readFileSync(path));
    expect(Object.fromEntries(metadata)).toEqual({ "dsanet.config": '{"scales": 2}', note: "ü" });
    expect([...floats.keys()]).toEqual(["conv.weight", "conv.bias"]);
    expect(floats.get("conv.weight")?.dims).toEqual([2, 3, 2, 2]);
    expect(floats.get("conv.weight")?.values).toEqual(Float32Array.from({ length: 24 }, (_, i) => Math.fround(i / 7)));
    expect(floats.get("conv.bias")).toEqual({ dims: [2], values: Float32Array.from([0.5, -1.25]) });
  });

  it("reads a shipped model's every weight as onnx does", () => {
    const path = join(REPO, "models/dsanet-lite.onnx");
    const expected = JSON.parse(
      python(
        [
          "import json, numpy as np, onnx",
          "from onnx import TensorProto, numpy_helper",
          `m = onnx.load('${path}')`,
          "print(json.dumps({t.name: [list(t.dims), float(numpy_helper.to_array(t).astype(np.float64).sum()), float(numpy_helper.to_array(t).flat[-1])] for t in m.graph.initializer if t.data_type == TensorProto.FLOAT}))",
        ].join("\n"),
      ),
    ) as Record<string, [number[], number, number]>;
    const { floats } = readOnnxWeights(readFileSync(path));
    expect(Object.keys(expected).length).toBeGreaterThan(50);
    expect([...floats.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const [name, [dims, sum, last]] of Object.entries(expected)) {
      const weight = floats.get(name);
      expect(weight?.dims, name).toEqual(dims);
      expect(weight?.values.at(-1), name).toBe(last);
      expect(weight?.values.reduce((a, b) => a + b, 0), name).toBeCloseTo(sum, 3);
    }
  });

  it("says what is wrong with a file that is not ONNX", () => {
    const path = join(dir, "not.onnx");
    writeFileSync(path, Buffer.from([0x3a, 0xff, 0xff, 0xff, 0x0f]));
    expect(() => readOnnxWeights(readFileSync(path))).toThrow(/truncated: a field runs past the end of the file/);
  });
});
