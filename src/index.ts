/**
 * dsanet-stream as a library: the same pieces the `dsanet` command is built from.
 *
 *   const config = await loadConfig(null);
 *   const engine = await loadEngineInWorker(config.engine);
 *   const summary = await deblurFile({ input, output, engine, ...config.deblur, encode: config.output });
 *   await engine.close();
 */
export type { Frame, VideoInfo } from "./types.js";
export { loadConfig, parseConfig } from "./config/load.js";
export { UserError, ConfigError, InputVideoError, OutputError } from "./errors.js";
export type { Config } from "./config/schema.js";
export { probe } from "./ffmpeg/probe.js";

export { loadEngineInWorker } from "./engine/engine-in-worker.js";
export { batchingEngine, type BatchingOptions } from "./engine/batching-engine.js";
export { loadEngineOnThisThread } from "./engine/load-engine.js";
export { MODELS, modelFile, SHIPPED_MODELS, type ModelName, type ShippedModel } from "./model/registry.js";
export type { Engine, EngineInput, EngineOutput, EngineState } from "./engine/engine.js";
export { DeblurStream, type DeblurStreamOptions } from "./deblur/deblur-stream.js";

export { fileSource } from "./sources/file.js";
export { rtspSource, type LiveEvent, type RtspSourceOptions } from "./sources/rtsp.js";

export { deblur, type Deblurred } from "./pipeline/deblur.js";
export { deblurFile, type DeblurFileOptions, type DeblurSummary, type Progress } from "./pipeline/deblur-file.js";
export { deblurLive, type LiveFrame } from "./pipeline/live.js";
export { dropOldest } from "./pipeline/drop-oldest.js";
export { detect, type FrameDetections } from "./pipeline/detect.js";
export { detectCompare, type Comparison } from "./pipeline/detect-compare.js";
export { serve, type ServeOptions, type Serving } from "./pipeline/serve.js";

export { startDetector } from "./detector/start-detector.js";
export type { Detector, DetectorOptions } from "./detector/detector.js";
export type { Detection } from "./types.js";
export { FileSink, type EncodeOptions } from "./sinks/file.js";
export { JsonLinesSink } from "./sinks/jsonl.js";
