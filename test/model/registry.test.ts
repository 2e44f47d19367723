import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readDsanetFile } from "../../src/model/dsanet-file.js";
import { maximModelJson } from "../../src/model/maxim.js";
import { MODELS, MODELS_DIR, SHIPPED_MODELS } from "../../src/model/registry.js";

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
});
