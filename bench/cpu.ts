import { readFileSync } from "node:fs";
import { integerMatrixUnits } from "../src/model/integer-units.js";

/**
 * The CPU a bench ran on, as its figures must say: its model name and the integer and bf16
 * matrix units it has (VNNI, AMX), which decide whether int8 or bf16 can pay.
 */
export function describeCpu(): string {
  const cpu = readFileSync("/proc/cpuinfo", "utf8");
  const model = /model name\s*:\s*(.*)/.exec(cpu)?.[1] ?? "unknown CPU";
  const flags = [...integerMatrixUnits(cpu), ...["amx_bf16", "avx512_bf16"].filter((flag) => new RegExp(`\\b${flag}\\b`).test(cpu))];
  return `${model} (${flags.join(", ") || "no VNNI or AMX"})`;
}
