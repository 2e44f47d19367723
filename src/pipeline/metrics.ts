import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Latencies kept for percentiles. */
const RECENT = 500;

const SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the live pipeline counts of one stream, read by the page's stats and by /metrics. */
export class StreamMetrics {
  framesIn = 0;
  framesOut = 0;
  framesDropped = 0;
  reconnects = 0;
  /** The last outage, from the lost stream to its first frame back. */
  lastRecoveryMs = 0;
  /** Deblurred frames the recording could not take in time (its encoder fell behind). */
  recordingDropped = 0;
  /** Recordings stopped by a failed write (a full disk, a lost volume). */
  recordingFailures = 0;
  /** Deblurred frames the RTSP publisher did not send: its server was slow, or gone. */
  publishDropped = 0;
  /** Times the RTSP server stopped taking the stream (or refused it) and the publisher went on retrying. */
  publishOutages = 0;
  /** Whether the RTSP server takes the stream now. */
  publishing = false;
  /** Deblurred frames the HLS encoder did not take in time. */
  hlsDropped = 0;
  live = false;
  lastLatencyMs = 0;
  /** The frames delivered, each counted by the share of its pixels that went through the model. */
  deblurredFrames = 0;
  lastDeblurredShare = 1;
  private outTimes: number[] = [];
  private recentLatencies: number[] = [];

  constructor(private readonly observe: (inferenceMs: number, latencyMs: number) => void = () => undefined) {}

  /** A frame left the deblur stage `latencyMs` after it arrived, `deblurredShare` of it through the model. */
  delivered(inferenceMs: number, latencyMs: number, deblurredShare: number): void {
    this.framesOut++;
    this.deblurredFrames += deblurredShare;
    this.lastDeblurredShare = deblurredShare;
    this.observe(inferenceMs, latencyMs);
    this.lastLatencyMs = latencyMs;
    this.recentLatencies.push(latencyMs);
    if (this.recentLatencies.length > RECENT) this.recentLatencies.shift();
    const now = Date.now();
    this.outTimes.push(now);
    this.outTimes = this.outTimes.filter((t) => now - t < 2000);
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
  viewers = 0;
  private readonly registry = new Registry();
  private readonly inference = new Histogram({ name: "dsanet_inference_seconds", help: "Time in the model per frame.", labelNames: ["stream"], buckets: SECONDS_BUCKETS, registers: [this.registry] });
  private readonly latency = new Histogram({ name: "dsanet_latency_seconds", help: "From frame arrival to deblurred frame.", labelNames: ["stream"], buckets: SECONDS_BUCKETS, registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const perStream = (kind: typeof Counter | typeof Gauge, name: string, help: string, value: (m: StreamMetrics) => number) => {
      const streams = this.streams;
      new kind({
        name,
        help,
        labelNames: ["stream"],
        registers: [this.registry],
        // Read at each scrape from the counts the pipeline keeps anyway.
        collect(this: Counter | Gauge) {
          this.reset();
          for (const [stream, m] of streams) this.inc({ stream }, value(m));
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
    const viewers = () => this.viewers;
    new Gauge({ name: "dsanet_viewers", help: "Connected WebSocket viewers.", registers: [this.registry], collect(this: Gauge) { this.set(viewers()); } });
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
