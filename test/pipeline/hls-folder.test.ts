import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeHlsFolder } from "../../src/pipeline/hls-folder.js";

describe("makeHlsFolder", () => {
  it("makes a folder that names its serve, and removes those of serves that were killed, no other", async () => {
    // A process that has ended: its pid is free (reused by another only after the pid space wraps).
    const gone = spawnSync("true").pid as number;
    const made = (owner: string | null) => {
      const folder = mkdtempSync(join(tmpdir(), "dsanet-hls-"));
      if (owner !== null) writeFileSync(join(folder, ".owner"), owner);
      writeFileSync(join(folder, "index.m3u8"), "#EXTM3U\n");
      return folder;
    };
    const [killed, running, unnamed] = [made(String(gone)), made(String(process.pid)), made(null)];
    const folder = await makeHlsFolder();
    try {
      expect(readFileSync(join(folder, ".owner"), "utf8")).toBe(String(process.pid));
      expect(existsSync(killed)).toBe(false);
      expect(existsSync(running)).toBe(true);
      expect(existsSync(unnamed)).toBe(true);
    } finally {
      for (const path of [folder, killed, running, unnamed]) rmSync(path, { recursive: true, force: true });
    }
  });
});
