import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { ConfigError } from "../errors.js";
import { configSchema, SECRET_FIELDS, type Config } from "./schema.js";

/** Validate a parsed config object; `source` names it in errors (a file path); a ConfigError names each bad field and what it takes. */
export function parseConfig(value: unknown, source: string): Config {
  const result = configSchema.safeParse(value ?? {}, { reportInput: true });
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.join(".") || "(top level)";
    const secret = SECRET_FIELDS.includes(field);
    const got = "input" in issue && issue.input !== undefined && !secret ? ` (got ${JSON.stringify(shown(issue.input, issue.path))})` : "";
    return `  ${field}: ${issue.message}${got}`;
  });
  throw new ConfigError(`${source}: invalid config\n${problems.join("\n")}`);
}

/**
 * What an error may show of a value at `path`: secret fields as ***, credentials cut out of
 * every string (zod hands over whole objects, e.g. for an unknown key, token and all).
 */
function shown(value: unknown, path: readonly PropertyKey[]): unknown {
  if (SECRET_FIELDS.includes(path.join("."))) return "***";
  if (typeof value === "string") return withoutCredentials(value);
  if (Array.isArray(value)) return value.map((item: unknown, i) => shown(item, [...path, i]));
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, shown(item, [...path, key])]));
  return value;
}

/**
 * Hide everything between a URL's scheme and its last "@". Stricter than redact(), which needs
 * a well-formed scheme://: a config error is where the mistyped URLs are (`user:pass@host`,
 * `redis:/user:pass@host`).
 */
function withoutCredentials(text: string): string {
  const at = text.lastIndexOf("@");
  if (at < 0) return text;
  const scheme = /^[a-z][a-z0-9+.-]*:\/+/i.exec(text)?.[0] ?? "";
  return `${scheme}***${text.slice(at)}`;
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
