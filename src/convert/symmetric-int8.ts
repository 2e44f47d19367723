import type { OnnxTensor } from "./onnx-proto.js";

/** The largest magnitude of an int8 operand: 127, or 63 on a CPU without VNNI (src/model/integer-units.ts int8Limit). */
export type Int8Limit = 127 | 63;

/**
 * A float matrix W (its dims [rows, columns]) in 8-bit integers, symmetric: one scale per row
 * or per column (its largest magnitude over `limit`; 1 for an all-zero one), each value rounded
 * to the nearest step in -limit..limit (127, or 63 where it is the int8 operand on a CPU without
 * VNNI: int8Limit). The int8 rewrites store it their way: as it is on the right of a product
 * (quantize-dense.ts), shifted to uint8 on the left (quantize-left-products.ts).
 */
export function symmetricInt8(weight: OnnxTensor, per: "row" | "column", limit: Int8Limit = 127): { readonly scale: Float32Array; readonly values: Int8Array } {
  const [rows, columns] = weight.dims as [number, number];
  const floats = new Float32Array(weight.data.slice().buffer);
  const scaleOf = (index: number) => (per === "row" ? Math.floor(index / columns) : index % columns);
  const scale = new Float32Array(per === "row" ? rows : columns);
  floats.forEach((v, index) => {
    const s = scaleOf(index);
    scale[s] = Math.max(scale[s] as number, Math.abs(v));
  });
  scale.forEach((max, s) => (scale[s] = max > 0 ? max / limit : 1));
  const values = Int8Array.from(floats, (v, index) => Math.max(-limit, Math.min(limit, Math.round(v / (scale[scaleOf(index)] as number)))));
  return { scale, values };
}
