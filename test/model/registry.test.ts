import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readDsanetFile } from "../../src/model/dsanet-file.js";
import { maximModelJson } from "../../src/model/maxim.js";
import { int8Limit, integerMatrixUnits } from "../../src/model/integer-units.js";
import { enginePrecision, MODELS, MODELS_DIR, SHIPPED_MODELS } from "../../src/model/registry.js";

describe("the model registry", () => {
  it.each(Object.entries(SHIPPED_MODELS))("says what the shipped %s file holds: its parameters and scales", async (_name, model) => {
    const { config, weights } = await readDsanetFile(`${MODELS_DIR}${model.onnx}`);
    // The network's weights are named by their state-dict keys; the rest are export's constants.
    const parameters = [...weights].filter(([name]) => name.startsWith("net.")).reduce((sum, [, weight]) => sum + weight.values.length, 0);
    expect(parameters).toBe(model.parameters);
    expect(config.scales).toBe(model.scales);
  });

  it("says how many values MAXIM's npm weights hold", () => {
    const manifest = JSON.parse(readFileSync(maximModelJson(), "utf8")) as { weightsManifest: { weights: { shape: number[] }[] }[] };
    const values = manifest.weightsManifest.flatMap((group) => group.weights).reduce((sum, { shape }) => sum + shape.reduce((a, b) => a * b, 1), 0);
    expect(values).toBe(MODELS.maxim.parameters);
  });

  it("runs DSANet's int8 graph under --precision auto where the CPU has VNNI, AMX or AVX2, MAXIM's int8 products only with VNNI or AMX", () => {
    const full = { type: "onnx", model: "full", scales: null, provider: "cpu", precision: "auto" } as const;
    const maxim = { ...full, model: "maxim" } as const;
    const vnni = ["avx512_vnni", "avx2"];
    expect(enginePrecision(full, vnni)).toBe("int8");
    expect(enginePrecision(full, ["avx2"])).toBe("int8");
    expect(enginePrecision(full, [])).toBe("fp32");
    expect(enginePrecision(maxim, vnni)).toBe("int8");
    expect(enginePrecision(maxim, ["avx2"])).toBe("fp32");
    expect(enginePrecision(maxim, [])).toBe("fp32");
    // Lite's int8 graph ran no faster; other scales, providers and engines have no int8 graph;
    // MAXIM's int8 products are CPU kernels.
    for (const other of [{ model: "lite" }, { scales: 2 }, { provider: "webgpu" }, { type: "tfjs" }] as const) {
      expect(enginePrecision({ ...full, ...other }, vnni)).toBe("fp32");
    }
    expect(enginePrecision({ ...maxim, provider: "webgpu" }, vnni)).toBe("fp32");
    // Asked for, either precision is what runs.
    expect(enginePrecision({ ...full, precision: "fp32" }, vnni)).toBe("fp32");
    expect(enginePrecision({ ...maxim, precision: "fp32" }, vnni)).toBe("fp32");
    expect(enginePrecision({ ...maxim, precision: "int8" }, [])).toBe("int8");
  });

  it("reads the integer matrix units from /proc/cpuinfo's flags, and from them how far int8 values may go", () => {
    const amx = "flags\t\t: fpu avx2 avx512f avx512_vnni amx_bf16 amx_int8 amx_tile";
    const avx2 = "flags\t\t: fpu avx2 avx512f avx512vl";
    expect(integerMatrixUnits(amx)).toEqual(["avx512_vnni", "amx_int8"]);
    expect(integerMatrixUnits(avx2)).toEqual([]);
    expect(integerMatrixUnits(null)).toEqual([]);
    expect(int8Limit(integerMatrixUnits(amx))).toBe(127);
    expect(int8Limit(integerMatrixUnits(avx2))).toBe(63);
  });
});
