import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { redact } from "../redact.js";
import { configSchema, type Config } from "./schema.js";

/** A config file that does not fit the schema; the message names each field and what it takes. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Validate a parsed config object; `source` names it in errors (a file path). */
export function parseConfig(value: unknown, source: string): Config {
  const result = configSchema.safeParse(value ?? {}, { reportInput: true });
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.join(".") || "(top level)";
    const got = "input" in issue && issue.input !== undefined ? ` (got ${redact(JSON.stringify(issue.input))})` : "";
    return `  ${field}: ${issue.message}${got}`;
  });
  throw new ConfigError(`${source}: invalid config\n${problems.join("\n")}`);
}

/** Read and validate a YAML config file; no file: the defaults. */
export async function loadConfig(path: string | null): Promise<Config> {
  if (path === null) return parseConfig({}, "defaults");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new ConfigError(`${path}: cannot read the config file`);
  }
  let value: unknown;
  try {
    value = parse(text);
  } catch (error) {
    throw new ConfigError(`${path}: not valid YAML: ${(error as Error).message}`);
  }
  return parseConfig(value, path);
}
