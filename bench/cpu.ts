import { cpuFlags, INT8_FLAGS, readCpuinfo } from "../src/model/integer-units.js";

/**
 * The CPU a bench ran on, as its figures must say: its model name and the integer and bf16
 * units it has (VNNI, AMX, AVX2), which decide whether int8 or bf16 can pay.
 */
export function describeCpu(): string {
  const cpu = readCpuinfo();
  const model = (cpu && /model name\s*:\s*(.*)/.exec(cpu)?.[1]) ?? "unknown CPU";
  const flags = cpuFlags([...INT8_FLAGS, "amx_bf16", "avx512_bf16"], cpu);
  return `${model} (${flags.join(", ") || "no AVX2, VNNI or AMX"})`;
}
