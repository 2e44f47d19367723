import type { Comparison } from "../pipeline/detect-compare.js";

/** Per class: detections and mean score for each variant (blurred, deblurred, reference). */
export function comparisonTable(result: Comparison): { columns: string[]; rows: string[][] } {
  const columns = ["class", ...result.variants.flatMap((v) => [`${v}: count`, `${v}: mean score`])];
  const rows = result.classes.map((c) => [
    c.label,
    ...result.variants.flatMap((v) => {
      const t = c.counts[v];
      return t ? [String(t.count), t.meanScore.toFixed(3)] : ["0", "-"];
    }),
  ]);
  return { columns, rows };
}
