import { readFileSync } from "node:fs";
import type { Int8Limit } from "../convert/symmetric-int8.js";

/** The CPU flags of integer matrix units, which run int8 products at several times fp32's rate. */
export const INTEGER_MATRIX_UNITS = ["avx512_vnni", "avx_vnni", "amx_int8"] as const;

/** Which of INTEGER_MATRIX_UNITS this machine's CPU has (none where /proc/cpuinfo is not there to say). */
export function integerMatrixUnits(cpuinfo: string | null = readCpuinfo()): string[] {
  return cpuFlags(INTEGER_MATRIX_UNITS, cpuinfo);
}

/**
 * The CPU flags under which some int8 graphs pay: the integer matrix units, and AVX2, which
 * multiplies uint8 by int8 in twice fp32's lanes (vpmaddubsw) but only with int8 values up to
 * 63 (int8Limit). DSANet's int8 graph, its weights within 63, ran 1.31-1.36x faster than fp32
 * on an AVX2 EPYC without VNNI (2026-12-07, docs/benchmarks.md); MAXIM's products 1.02-1.05x.
 */
export const INT8_FLAGS = [...INTEGER_MATRIX_UNITS, "avx2"] as const;

/**
 * The largest magnitude an int8 operand may take in this CPU's products of uint8 by int8: 127
 * where VNNI or AMX sum each product in 32 bits; 63 elsewhere. Without them, onnxruntime's
 * kernels (AVX2's vpmaddubsw) add two products into 16 bits and saturate at 32,767, which
 * 2 x 255 x 127 passes and 2 x 255 x 63 does not (onnxruntime's quantizer calls this
 * reduce_range). On an AVX2 EPYC without VNNI (2026-12-07), MAXIM's int8 products at 127 came
 * out 31.7 dB from fp32's, up to 76 levels apart; at 63, as near as on VNNI (docs/benchmarks.md).
 */
export function int8Limit(units: readonly string[] = integerMatrixUnits()): Int8Limit {
  return units.length > 0 ? 127 : 63;
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
