import { readFileSync } from "node:fs";

/** The CPU flags of integer matrix units, which run int8 products at several times fp32's rate. */
export const INTEGER_MATRIX_UNITS = ["avx512_vnni", "avx_vnni", "amx_int8"] as const;

/** Which of INTEGER_MATRIX_UNITS this machine's CPU has (none where /proc/cpuinfo is not there to say). */
export function integerMatrixUnits(cpuinfo: string | null = readCpuinfo()): string[] {
  return INTEGER_MATRIX_UNITS.filter((flag) => cpuinfo !== null && new RegExp(`\\b${flag}\\b`).test(cpuinfo));
}

function readCpuinfo(): string | null {
  try {
    return readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return null;
  }
}
