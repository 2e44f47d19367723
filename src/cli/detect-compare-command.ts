import { Command } from "commander";
import { log } from "../log.js";
import { loadEngineInWorker } from "../engine/engine-in-worker.js";
import { detectCompare, type Comparison } from "../pipeline/detect-compare.js";
import { startDetector } from "../detector/start-detector.js";
import { writeReport } from "../sinks/report.js";
import { DEBLUR_FLAGS, DETECTOR_FLAGS, ENGINE_FLAGS, only, withConfigOptions } from "./config-options.js";
import { integer } from "./number-arguments.js";
import { resolveConfig } from "./resolve-config.js";
import { Resources } from "./resources.js";

interface CompareFlags {
  reference?: string;
  output: string;
  every: number;
}

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

/** `dsanet detect-compare`: what deblurring does for a detector, on the user's own footage. */
export function detectCompareCommand(): Command {
  return withConfigOptions(
    new Command("detect-compare")
      .description("detect objects on the blurred and the deblurred frames of a video, and report the difference")
      .argument("<input>", "a video file")
      .option("--reference <file>", "the sharp truth of the input, frame for frame (a synthesized clip), compared too")
      .option("-o, --output <file>", "HTML report with side-by-side frames and boxes", "out/detect-compare.html")
      .option("--every <n>", "compare every Nth frame", integer, 1),
    [ENGINE_FLAGS, DEBLUR_FLAGS, only(DETECTOR_FLAGS, "classes")],
  ).action(async (input: string, flags: CompareFlags, command: Command) => {
    const config = await resolveConfig(command);
    const resources = new Resources();
    try {
      const engine = resources.add(await loadEngineInWorker(config.engine));
      const detector = resources.add(await startDetector(config.detector));
      const result = await detectCompare({
        input, reference: flags.reference ?? null, engine, detector, ...config.deblur, every: flags.every, samples: 4,
      });
      const table = comparisonTable(result);
      process.stdout.write(
        [
          `${result.frames} frames of ${input}, detector ${detector.backend}, min score ${config.detector.minScore}`,
          `| ${table.columns.join(" | ")} |`,
          `|${table.columns.map(() => " --- |").join("")}`,
          ...table.rows.map((r) => `| ${r.join(" | ")} |`),
        ].join("\n") + "\n",
      );
      await writeReport(flags.output, {
        title: `Detections before and after deblurring: ${input}`,
        table,
        samples: result.samples.map((s) => ({
          index: s.index,
          variants: result.variants.flatMap((v) => {
            const seen = s.frames[v];
            return seen ? [{ name: v, ...seen }] : [];
          }),
        })),
      });
      log.info(`report: ${flags.output}`);
    } finally {
      await resources.close();
    }
  });
}
