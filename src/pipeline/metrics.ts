import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { PublishEvent } from "../sinks/rtsp-publish.js";
import type { LiveEvent } from "../sources/rtsp.js";

/** Latencies kept for percentiles. */
const RECENT = 500;

const SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the live pipeline counts of one stream. */
export interface StreamCounts {
  framesIn: number;
  framesOut: number;
  framesDropped: number;
  reconnects: number;
  /** The last outage, from the lost stream to its first frame back. */
  lastRecoveryMs: number;
  /** Deblurred frames the recording could not take in time (its encoder fell behind). */
  recordingDropped: number;
  /** Recordings stopped by a failed write (a full disk, a lost volume). */
  recordingFailures: number;
  /** Deblurred frames the RTSP publisher did not send: its server was slow, or gone. */
  publishDropped: number;
  /** Times the RTSP server stopped taking the stream (or refused it) and the publisher went on retrying. */
  publishOutages: number;
  /** Whether the RTSP server takes the stream now. */
  publishing: boolean;
  /** Deblurred frames the HLS encoder did not take in time. */
  hlsDropped: number;
  live: boolean;
  lastLatencyMs: number;
  /** The frames delivered, each counted by the share of its pixels that went through the model. */
  deblurredFrames: number;
  lastDeblurredShare: number;
}

/**
 * One stream's counts, read by the page's stats and by /metrics, changed only through the
 * methods below: each says what happened, and this class alone knows what that counts.
 */
export class StreamMetrics {
  private readonly mutable: StreamCounts = {
    framesIn: 0, framesOut: 0, framesDropped: 0, reconnects: 0, lastRecoveryMs: 0, recordingDropped: 0, recordingFailures: 0,
    publishDropped: 0, publishOutages: 0, publishing: false, hlsDropped: 0, live: false, lastLatencyMs: 0, deblurredFrames: 0, lastDeblurredShare: 1,
  };
  private outTimes: number[] = [];
  private recentLatencies: number[] = [];

  constructor(private readonly observe: (inferenceMs: number, latencyMs: number) => void = () => undefined) {}

  get counts(): Readonly<StreamCounts> {
    return this.mutable;
  }

  /** A frame came from the source. */
  received(): void {
    this.mutable.framesIn++;
  }

  /** A frame waited too long for the model and was dropped. */
  dropped(): void {
    this.mutable.framesDropped++;
  }

  /** A frame left the deblur stage `latencyMs` after it arrived, `deblurredShare` of it through the model. */
  delivered(inferenceMs: number, latencyMs: number, deblurredShare: number): void {
    const counts = this.mutable;
    counts.framesOut++;
    counts.deblurredFrames += deblurredShare;
    counts.lastDeblurredShare = deblurredShare;
    this.observe(inferenceMs, latencyMs);
    counts.lastLatencyMs = latencyMs;
    this.recentLatencies.push(latencyMs);
    if (this.recentLatencies.length > RECENT) this.recentLatencies.shift();
    const now = Date.now();
    this.outTimes.push(now);
    this.outTimes = this.outTimes.filter((t) => now - t < 2000);
  }

  /** What the camera reported: every event but a lost stream means it delivers. */
  sourceEvent(event: LiveEvent): void {
    this.mutable.live = event.type !== "outage-start";
    if (event.type === "outage-start") this.mutable.reconnects++;
    if (event.type === "outage-end") this.mutable.lastRecoveryMs = event.durationMs;
  }

  /** A deblurred frame the recording did not take: its encoder fell behind, or its file failed. */
  recordingDropped(): void {
    this.mutable.recordingDropped++;
  }

  /** The recording stopped on a failed write. */
  recordingFailed(): void {
    this.mutable.recordingFailures++;
  }

  /** What the RTSP publisher reported: every event but a lost server means it takes the stream. */
  publishEvent(event: PublishEvent): void {
    this.mutable.publishing = event.type !== "lost";
    if (event.type === "lost") this.mutable.publishOutages++;
  }

  /** A deblurred frame the RTSP publisher did not send. */
  publishDropped(): void {
    this.mutable.publishDropped++;
  }

  /** A deblurred frame the HLS encoder did not take in time. */
  hlsDropped(): void {
    this.mutable.hlsDropped++;
  }

  /** The p-th percentile (0-100) of the last few hundred latencies, in ms. */
  latencyPercentile(p: number): number {
    const sorted = [...this.recentLatencies].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  }

  /** Deblurred frames per second over the last two seconds. */
  fps(): number {
    return this.outTimes.length / 2;
  }
}

/**
 * Every stream's metrics, and the Prometheus registry that exposes them on /metrics beside
 * the process's own (prom-client's defaults: memory, CPU, event-loop lag, GC).
 */
export class LiveMetrics {
  readonly streams = new Map<string, StreamMetrics>();
  private connectedViewers = 0;
  private readonly registry = new Registry();
  private readonly inference = new Histogram({ name: "dsanet_inference_seconds", help: "Time in the model per frame.", labelNames: ["stream"], buckets: SECONDS_BUCKETS, registers: [this.registry] });
  private readonly latency = new Histogram({ name: "dsanet_latency_seconds", help: "From frame arrival to deblurred frame.", labelNames: ["stream"], buckets: SECONDS_BUCKETS, registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const perStream = (kind: typeof Counter | typeof Gauge, name: string, help: string, value: (m: StreamCounts) => number) => {
      const streams = this.streams;
      new kind({
        name,
        help,
        labelNames: ["stream"],
        registers: [this.registry],
        // Read at each scrape from the counts the pipeline keeps anyway.
        collect(this: Counter | Gauge) {
          this.reset();
          for (const [stream, m] of streams) this.inc({ stream }, value(m.counts));
        },
      });
    };
    perStream(Counter, "dsanet_frames_in_total", "Frames received from the source.", (m) => m.framesIn);
    perStream(Counter, "dsanet_frames_out_total", "Frames deblurred and delivered.", (m) => m.framesOut);
    perStream(Counter, "dsanet_frames_deblurred_total", "Frames delivered, each counted by the share of its pixels that went through the model (deblur.regions auto: only what moved); over frames_out_total, the share of pixels deblurred.", (m) => m.deblurredFrames);
    perStream(Counter, "dsanet_frames_dropped_total", "Frames dropped because inference fell behind.", (m) => m.framesDropped);
    perStream(Counter, "dsanet_reconnects_total", "Outages of the source followed by a reconnection attempt.", (m) => m.reconnects);
    perStream(Counter, "dsanet_recording_dropped_total", "Deblurred frames the recording did not take: its encoder fell behind, or its file failed.", (m) => m.recordingDropped);
    perStream(Counter, "dsanet_recording_failures_total", "Recordings stopped by a failed write (full disk, lost volume); the log names the cause.", (m) => m.recordingFailures);
    perStream(Gauge, "dsanet_stream_up", "1 while the source delivers frames.", (m) => (m.live ? 1 : 0));
    perStream(Counter, "dsanet_publish_dropped_total", "Deblurred frames the RTSP publisher did not send: its server was slow or gone.", (m) => m.publishDropped);
    perStream(Counter, "dsanet_publish_outages_total", "Times the RTSP server refused or stopped taking the deblurred stream (the publisher retries).", (m) => m.publishOutages);
    perStream(Counter, "dsanet_hls_dropped_total", "Deblurred frames the HLS encoder did not take in time (viewer.hls).", (m) => m.hlsDropped);
    perStream(Gauge, "dsanet_publish_up", "1 while the RTSP server takes the deblurred stream (--publish), 0 otherwise.", (m) => (m.publishing ? 1 : 0));
    perStream(Gauge, "dsanet_last_recovery_seconds", "The last outage: from the lost stream to its first frame back.", (m) => m.lastRecoveryMs / 1000);
    const viewers = () => this.connectedViewers;
    new Gauge({ name: "dsanet_viewers", help: "Connected WebSocket viewers.", registers: [this.registry], collect(this: Gauge) { this.set(viewers()); } });
  }

  /** WebSocket viewers connected now. */
  viewersConnected(count: number): void {
    this.connectedViewers = count;
  }

  stream(name: string): StreamMetrics {
    let metrics = this.streams.get(name);
    if (!metrics) {
      metrics = new StreamMetrics((inferenceMs, latencyMs) => {
        this.inference.observe({ stream: name }, inferenceMs / 1000);
        this.latency.observe({ stream: name }, latencyMs / 1000);
      });
      this.streams.set(name, metrics);
    }
    return metrics;
  }

  /** Prometheus' text format (version 0.0.4). */
  toPrometheus(): Promise<string> {
    return this.registry.metrics();
  }
}
