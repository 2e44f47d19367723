import { readFileSync } from "node:fs";

/** The CPU flags of integer matrix units, which run int8 products at several times fp32's rate. */
export const INTEGER_MATRIX_UNITS = ["avx512_vnni", "avx_vnni", "amx_int8"] as const;

/** Which of INTEGER_MATRIX_UNITS this machine's CPU has (none where /proc/cpuinfo is not there to say). */
export function integerMatrixUnits(cpuinfo: string | null = readCpuinfo()): string[] {
  return cpuFlags(INTEGER_MATRIX_UNITS, cpuinfo);
}

/** Which of `flags` /proc/cpuinfo lists. */
export function cpuFlags(flags: readonly string[], cpuinfo: string | null = readCpuinfo()): string[] {
  return flags.filter((flag) => cpuinfo !== null && new RegExp(`\\b${flag}\\b`).test(cpuinfo));
}

/** /proc/cpuinfo, or null where there is none (not Linux). */
export function readCpuinfo(): string | null {
  try {
    return readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return null;
  }
}
