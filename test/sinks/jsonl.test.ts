import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OutputError } from "../../src/errors.js";
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

  it("a path that cannot be written is an OutputError naming it: the user's to fix, in one line", async () => {
    const file = join(WORK, "not-a-folder");
    writeFileSync(file, "");
    const output = join(file, "detections.jsonl");
    const error = await JsonLinesSink.open(output).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(OutputError);
    // mkdir says EEXIST for a file where a folder should be.
    expect(error).toMatchObject({ code: "EEXIST", message: expect.stringContaining(`${output}: cannot write: EEXIST`) });
  });
});
