import type { Command } from "commander";
import { loadConfig, parseConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { ConfigOption, type Section } from "./config-options.js";

/** Fields a command sets from its arguments rather than its flags: serve's cameras. */
export type FromArguments = { readonly [S in Section]?: Partial<Record<keyof Config[S], unknown>> };

/**
 * The config file (--config, or the defaults), overridden field by field by the config flags
 * given on `command`'s line (see config-options.ts) and by `fromArguments`, validated like a
 * file: a bad value names its field.
 */
export async function resolveConfig(command: Command, fromArguments: FromArguments = {}): Promise<Config> {
  const file = command.getOptionValue("config") as string | undefined;
  const base = await loadConfig(file ?? null);
  const merged: Record<string, Record<string, unknown>> = Object.fromEntries(Object.entries(base).map(([section, fields]) => [section, { ...fields }]));
  for (const option of command.options) {
    // Only what the user typed: commander's own defaults (true for --no-carry-state) are not the config's.
    if (option instanceof ConfigOption && command.getOptionValueSource(option.attributeName()) === "cli") {
      (merged[option.section] ??= {})[option.field] = command.getOptionValue(option.attributeName());
    }
  }
  for (const [section, fields] of Object.entries(fromArguments)) Object.assign((merged[section] ??= {}), fields);
  return parseConfig(merged, file ? `${file} with command-line flags` : "command-line flags");
}
