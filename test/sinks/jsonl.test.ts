import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { JsonLinesSink } from "../../src/sinks/jsonl.js";
import { WORK } from "../helpers/clips.js";

describe("JSON lines sink", () => {
  it("close() is safe to call twice: both calls settle, and every line is there", async () => {
    const output = join(WORK, "closed-twice.jsonl");
    const sink = await JsonLinesSink.open(output);
    for (let index = 0; index < 3; index++) await sink.write({ index });
    await Promise.all([sink.close(), sink.close()]);
    await sink.close();
    expect(readFileSync(output, "utf8")).toBe('{"index":0}\n{"index":1}\n{"index":2}\n');
  });
});
