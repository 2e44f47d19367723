import { MAXIM } from "./maxim.js";

/** What `--model` takes, for `dsanet info`: figures from models/MODEL_CARD.md. */
export const MODEL_CATALOG = [
  { name: "full", title: "DSANet", parameters: "4,565,795", flops640x360: "86.7 G", license: "MIT (this project)", source: "models/dsanet.onnx, trained here" },
  { name: "lite", title: "DSANet-Lite", parameters: "160,795", flops640x360: "2.4 G", license: "MIT (this project)", source: "models/dsanet-lite.onnx, trained here" },
  { name: "maxim", title: "MAXIM-3S (GoPro)", parameters: "22.2 M", flops640x360: "1,359 G", license: MAXIM.license, source: MAXIM.source },
] as const;
