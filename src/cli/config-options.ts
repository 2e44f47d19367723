import { Option, type Command } from "commander";
import { z } from "zod";
import { configSchema, type Config } from "../config/schema.js";
import { strideFor } from "../engine/engine.js";
import { MAXIM } from "../model/maxim.js";
import { MODELS } from "../model/registry.js";
import { integer, number } from "./number-arguments.js";

/**
 * The flags that set config fields, declared once per config section: each is keyed by the
 * field it sets, and carries its flag and help. Every command takes its flags from here, so a
 * flag means the same and says the same wherever it appears; the choices and defaults in its
 * help come from the config schema.
 */

export type Section = keyof Config;

interface FlagDeclaration {
  /** Commander's flag syntax: "--tile <n>", "--no-carry-state", "--hls". */
  readonly flags: string;
  readonly help: string;
  /** From the command line's text to the field's value, before the schema validates it. */
  readonly parse?: (text: string) => unknown;
  /** What a flag without a value sets the field to ("--udp": "udp"); otherwise true, or false for --no-*. */
  readonly preset?: string;
}

/** A config section's flags, by the field each sets. */
export interface SectionFlags<S extends Section> {
  readonly section: S;
  readonly flags: { readonly [F in keyof Config[S]]?: FlagDeclaration };
}

/** A commander option that sets one config field; resolveConfig reads it back by its section and field. */
export class ConfigOption extends Option {
  constructor(
    readonly section: Section,
    readonly field: string,
    declaration: FlagDeclaration,
  ) {
    super(declaration.flags, declaration.help);
    this.description += ` ${this.whereInConfig(declaration.preset)}`;
    if (declaration.parse) this.argParser(declaration.parse);
    // A flag that brings its own value ("--udp") offers no choice; one that takes a value lists the schema's.
    const choices = enumValues(fieldSchema(section, field));
    if (declaration.preset !== undefined) this.preset(declaration.preset);
    else if (choices) this.choices(choices);
  }

  /** The field this flag sets and its default, or the value it sets when it takes none: "(output.crf, default 18)", "(live.transport: udp)". */
  private whereInConfig(preset: string | undefined): string {
    const path = `${this.section}.${this.field}`;
    if (this.isBoolean() || this.negate) return `(${path}: ${preset ?? !this.negate})`;
    const fallback = (DEFAULTS[this.section] as Record<string, unknown>)[this.field];
    const shown = fallback === null || (Array.isArray(fallback) && fallback.length === 0) ? "" : `, default ${String(fallback)}`;
    return `(${path}${shown})`;
  }
}

const DEFAULTS = configSchema.parse({});

function fieldSchema(section: Section, field: string): z.ZodType {
  const fields = (configSchema.shape[section].unwrap() as z.ZodObject).shape;
  const schema = fields[field];
  if (!schema) throw new Error(`${section}.${field}: no such config field`);
  return schema as z.ZodType;
}

/** The values an enum field takes, through its default and null; null for fields of other types. */
function enumValues(schema: z.ZodType): readonly string[] | null {
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodNullable) return enumValues(schema.unwrap() as z.ZodType);
  return schema instanceof z.ZodEnum ? (schema.options as readonly string[]) : null;
}

/** Some of a section's flags, for a command where only those apply. */
export function only<S extends Section>(of: SectionFlags<S>, ...fields: (keyof Config[S] & string)[]): SectionFlags<S> {
  return { section: of.section, flags: Object.fromEntries(fields.map((field) => [field, of.flags[field]])) as SectionFlags<S>["flags"] };
}

/** `-c, --config FILE` and the given sections' flags, added to `command`. */
export function withConfigOptions(command: Command, sections: readonly SectionFlags<Section>[]): Command {
  command.option("-c, --config <file>", "YAML config (see config/default.yaml); flags override its fields");
  for (const { section, flags } of sections) {
    for (const [field, declaration] of Object.entries(flags) as [string, FlagDeclaration | undefined][]) {
      if (declaration) command.addOption(new ConfigOption(section, field, declaration));
    }
  }
  return command;
}

/** --model's names, as the registry has them: "full (DSANet: quality), lite (...)". */
const MODEL_NAMES = Object.entries(MODELS)
  .map(([name, model]) => `${name} (${model.title}: ${model.use})`)
  .join(", ");

export const ENGINE_FLAGS: SectionFlags<"engine"> = {
  section: "engine",
  flags: {
    type: { flags: "--engine <name>", help: "inference engine" },
    model: { flags: "--model <name|path>", help: `${MODEL_NAMES}, or weights: an .onnx file from training/export.py (either engine)` },
    scales: { flags: "--scales <k>", help: "DSANet scales, 1-3; unset: as the model was trained", parse: integer },
    stages: { flags: "--stages <n>", help: "maxim: stop after n of its 3 stages, 1-3 (each restores the image; 1 costs a third)", parse: integer },
    precision: { flags: "--precision <p>", help: "auto (default): DSANet in int8 where the CPU has VNNI, AMX or AVX2, MAXIM where it has VNNI or AMX, else fp32; int8: DSANet's convolutions in 8-bit integers (1.31-1.58x faster there), or MAXIM's matrix products (1.03-1.19x with VNNI or AMX); Lite runs in fp32 (docs/benchmarks.md)" },
    threads: { flags: "--threads <n>", help: "onnx CPU threads (0: one per available core)", parse: integer },
    provider: { flags: "--provider <name>", help: "onnx execution provider (webgpu: a GPU through Vulkan)" },
    backend: { flags: "--backend <name>", help: "tfjs backend" },
  },
};

/** Tiles are sized in the network's stride, which differs per model: say each one's. */
const STRIDES = `full ${strideFor(MODELS.full.scales)}, lite ${strideFor(MODELS.lite.scales)}, maxim ${MAXIM.stride}; DSANet's halves with each scale fewer`;

export const DEBLUR_FLAGS: SectionFlags<"deblur"> = {
  section: "deblur",
  flags: {
    carryState: { flags: "--no-carry-state", help: "deblur every frame alone instead of carrying the ConvLSTM state" },
    tile: { flags: "--tile <n>", help: `process frames in overlapping tiles of n pixels, a multiple of the model's stride (${STRIDES}); unset: whole frames, tiled where memory requires`, parse: integer },
    regions: { flags: "--regions <mode>", help: "auto: on a still camera only what moves goes through the model (off: whole frames)" },
  },
};

export const OUTPUT_FLAGS: SectionFlags<"output"> = {
  section: "output",
  flags: {
    lossless: { flags: "--lossless", help: "bit-exact output (FFV1 in .mkv, x264 RGB otherwise)" },
    crf: { flags: "--crf <n>", help: "x264 quality, 0-51 (lower is better)", parse: integer },
    preset: { flags: "--preset <name>", help: "x264 preset" },
  },
};

export const DETECTOR_FLAGS: SectionFlags<"detector"> = {
  section: "detector",
  flags: {
    every: { flags: "--detect-every <n>", help: "detect on every Nth frame", parse: integer },
    classes: { flags: "--detect-classes <list>", help: "comma-separated COCO labels to keep, e.g. person,car; unset: all 80", parse: (list) => list.split(",").map((label) => label.trim()) },
  },
};

export const LIVE_FLAGS: SectionFlags<"live"> = {
  section: "live",
  flags: {
    transport: { flags: "--udp", help: "RTSP over UDP instead of TCP", preset: "udp" },
    publish: { flags: "--publish <url>", help: "push each deblurred stream to this RTSP server; {stream} is the camera's name, e.g. rtsp://127.0.0.1:8554/{stream}-deblurred" },
    recordSegment: { flags: "--record-segment <duration>", help: "cut the recording in segments of this length, each named by its start time, e.g. 10m" },
  },
};

export const VIEWER_FLAGS: SectionFlags<"viewer"> = {
  section: "viewer",
  flags: {
    port: { flags: "--port <n>", help: "HTTP and WebSocket port", parse: integer },
    host: { flags: "--host <address>", help: "address to listen on" },
    token: { flags: "--token <secret>", help: "require ?token=<secret> for the page, sockets and /metrics" },
    hls: { flags: "--hls", help: "also serve each deblurred stream as HLS at /hls/<stream>/index.m3u8 (the page plays it)" },
  },
};

export const QUEUE_FLAGS: SectionFlags<"queue"> = {
  section: "queue",
  flags: {
    redis: { flags: "--redis <url>", help: "the queue's Redis" },
    concurrency: { flags: "--concurrency <n>", help: "jobs at once in this process", parse: integer },
    chunkSeconds: { flags: "--chunk-seconds <s>", help: "cut videos into chunks of about this many seconds", parse: number },
    warmupFrames: { flags: "--warmup <frames>", help: "frames run before each chunk to rebuild the carried state", parse: integer },
  },
};
