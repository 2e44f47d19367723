import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve(import.meta.dirname, "../src");

/**
 * The folders of src/ each folder may import, as the README's architecture section draws them:
 * arrows one way, sources, sinks, detector and the deblur/engine/model stack apart, meeting
 * only in pipeline (and in cli, the composition root, which builds what pipeline runs).
 * "." is the shared files at the top of src/ (types, errors, log, redact, reconnect, machine).
 */
const ALLOWED: Record<string, readonly string[]> = {
  ".": [],
  config: ["."],
  convert: [],
  tensorflow: ["."],
  threads: ["."],
  ffmpeg: ["."],
  model: [".", "config", "convert", "tensorflow"],
  engine: [".", "config", "model", "tensorflow", "threads"],
  deblur: [".", "config", "engine"],
  sources: [".", "ffmpeg"],
  sinks: [".", "ffmpeg"],
  detector: [".", "tensorflow", "threads"],
  pipeline: [".", "config", "deblur", "detector", "engine", "ffmpeg", "sinks", "sources"],
  queue: [".", "deblur", "engine", "ffmpeg", "pipeline", "sinks"],
  cli: [".", "config", "detector", "engine", "ffmpeg", "model", "pipeline", "queue", "sinks", "threads"],
};

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Each file of src/ (index.ts, the library's entry, aside) with the files of src/ it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    if (file === join(SRC, "index.ts")) continue;
    const specifiers = [...readFileSync(file, "utf8").matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((match) => match[1] as string);
    graph.set(
      file,
      specifiers.map((specifier) => resolve(dirname(file), specifier).replace(/\.js$/, ".ts")),
    );
  }
  return graph;
}

const folderOf = (file: string) => {
  const parts = relative(SRC, file).split("/");
  return parts.length > 1 ? (parts[0] as string) : ".";
};

describe("the source layout", () => {
  const graph = importGraph();

  it("has every folder of src/ in the layout", () => {
    expect(new Set([...graph.keys()].map(folderOf))).toEqual(new Set(Object.keys(ALLOWED)));
  });

  it("imports one way: each folder only from the folders below it", () => {
    const wrong = [...graph].flatMap(([file, imports]) =>
      imports.filter((target) => folderOf(target) !== folderOf(file) && !ALLOWED[folderOf(file)]?.includes(folderOf(target))).map((target) => `${relative(SRC, file)} -> ${relative(SRC, target)}`),
    );
    expect(wrong).toEqual([]);
  });

  it("has no import cycle between files", () => {
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const path: string[] = [];
    const visit = (file: string) => {
      state.set(file, "open");
      path.push(file);
      for (const target of graph.get(file) ?? []) {
        if (state.get(target) === "open") cycles.push([...path.slice(path.indexOf(target)), target].map((f) => relative(SRC, f)).join(" -> "));
        else if (!state.has(target)) visit(target);
      }
      path.pop();
      state.set(file, "done");
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });
});
