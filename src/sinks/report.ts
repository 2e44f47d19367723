import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import sharp from "sharp";
import type { Frame } from "../types.js";
import type { Detection } from "../types.js";

export interface ReportVariant {
  readonly name: string;
  readonly frame: Frame;
  readonly detections: readonly Detection[];
}

export interface ReportData {
  readonly title: string;
  /** Column names, then one row per class: cells already formatted. */
  readonly table: { readonly columns: readonly string[]; readonly rows: readonly (readonly string[])[] };
  /** Side-by-side pictures: each row shows one frame in every variant, with its boxes. */
  readonly samples: readonly { readonly index: number; readonly variants: readonly ReportVariant[] }[];
}

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

async function picture({ name, frame, detections }: ReportVariant): Promise<string> {
  const jpeg = await sharp(frame.rgb, { raw: { width: frame.width, height: frame.height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
  const boxes = detections
    .map(({ label, score, box: [x, y, w, h] }) =>
      `<rect x="${x}" y="${y}" width="${w}" height="${h}"/><text x="${x + 2}" y="${Math.max(y - 3, 10)}">${escape(label)} ${score.toFixed(2)}</text>`,
    )
    .join("");
  return `<figure><svg viewBox="0 0 ${frame.width} ${frame.height}" width="${Math.min(frame.width, 480)}">` +
    `<image href="data:image/jpeg;base64,${jpeg.toString("base64")}" width="${frame.width}" height="${frame.height}"/>${boxes}</svg>` +
    `<figcaption>${escape(name)}: ${detections.length} detections</figcaption></figure>`;
}

/** A self-contained HTML page (pictures inlined) of a detection comparison. */
export async function writeReport(path: string, data: ReportData): Promise<void> {
  const rows = data.table.rows.map((r) => `<tr>${r.map((c) => `<td>${escape(c)}</td>`).join("")}</tr>`).join("");
  const samples: string[] = [];
  for (const s of data.samples) samples.push(`<h3>frame ${s.index}</h3><div class="row">${(await Promise.all(s.variants.map(picture))).join("")}</div>`);
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(data.title)}</title><style>
body{font:14px system-ui,sans-serif;margin:24px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
td:first-child{text-align:left}.row{display:flex;gap:12px;flex-wrap:wrap}figure{margin:0}
rect{fill:none;stroke:#f33;stroke-width:2}text{fill:#f33;font:12px sans-serif}</style></head><body>
<h1>${escape(data.title)}</h1><table><tr>${data.table.columns.map((c) => `<th>${escape(c)}</th>`).join("")}</tr>${rows}</table>
${samples.join("\n")}</body></html>`;
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, html);
}
