import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
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
  /** Times the camera's pipeline failed (the engine, an inference) and was started afresh. */
  restarts: number;
  /** Whether frames come: the camera delivers, and its pipeline is not waiting to restart. */
  live: boolean;
  /** Since when (ms, Date.now) the stream has not been live; null while it is. */
  downSinceMs: number | null;
  lastLatencyMs: number;
  /** The frames delivered, each counted by the share of its pixels that went through the model. */
  deblurredFrames: number;
  lastDeblurredShare: number;
}

/** What the pipeline counts of one of a stream's outputs (the recording, HLS, RTSP out, viewers, detector). */
export interface OutputCounts {
  /** Frames it did not take: it was busy with older ones, or down. */
  dropped: number;
  /** Outages: times it failed and was started again (each counted once, however many attempts it took). */
  failures: number;
  /** Since when (ms, Date.now) it has been down; null while it is up. */
  downSinceMs: number | null;
}

/**
 * One stream's counts, read by the page's stats and by /metrics, changed only through the
 * methods below: each says what happened, and this class alone knows what that counts.
 */
export class StreamMetrics {
  private readonly mutable: StreamCounts = {
    framesIn: 0, framesOut: 0, framesDropped: 0, reconnects: 0, lastRecoveryMs: 0, restarts: 0,
    // Down from the start until the camera answers: one that never does is down too.
    live: false, downSinceMs: Date.now(), lastLatencyMs: 0, deblurredFrames: 0, lastDeblurredShare: 1,
  };
  /** Each output by its name ("recording", "hls", "publish", "viewer", "detector"). */
  readonly outputs = new Map<string, OutputCounts>();
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
    this.setLive(event.type !== "outage-start");
    if (event.type === "outage-start") this.mutable.reconnects++;
    if (event.type === "outage-end") this.mutable.lastRecoveryMs = event.durationMs;
  }

  /** The stream's pipeline failed: it is down until it is started again and its camera answers. */
  restarting(): void {
    this.mutable.restarts++;
    this.setLive(false);
  }

  /** A frame `output` did not take. */
  outputDropped(output: string): void {
    this.output(output).dropped++;
  }

  /** `output` failed: an outage begins, unless one is going on. */
  outputDown(output: string): void {
    const counts = this.output(output);
    if (counts.downSinceMs !== null) return;
    counts.downSinceMs = Date.now();
    counts.failures++;
  }

  /** `output` works (again). */
  outputUp(output: string): void {
    this.output(output).downSinceMs = null;
  }

  /**
   * What has been down for longer than `graceMs`, in words ("cam: no frames for 12.0 s",
   * "cam: hls down for 7.3 s"); empty while all is well.
   */
  problems(stream: string, graceMs: number): string[] {
    const now = Date.now();
    const since = (ms: number) => `${((now - ms) / 1000).toFixed(1)} s`;
    const { downSinceMs } = this.mutable;
    const problems = downSinceMs !== null && now - downSinceMs > graceMs ? [`${stream}: no frames for ${since(downSinceMs)}`] : [];
    for (const [name, counts] of this.outputs) {
      if (counts.downSinceMs !== null && now - counts.downSinceMs > graceMs) problems.push(`${stream}: ${name} down for ${since(counts.downSinceMs)}`);
    }
    return problems;
  }

  private setLive(live: boolean): void {
    this.mutable.live = live;
    if (live) this.mutable.downSinceMs = null;
    else this.mutable.downSinceMs ??= Date.now();
  }

  private output(name: string): OutputCounts {
    let counts = this.outputs.get(name);
    if (!counts) {
      counts = { dropped: 0, failures: 0, downSinceMs: null };
      this.outputs.set(name, counts);
    }
    return counts;
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
    perStream(Counter, "dsanet_stream_restarts_total", "Times the stream's pipeline failed (engine, inference) and was started afresh.", (m) => m.restarts);
    perStream(Gauge, "dsanet_stream_up", "1 while the source delivers frames and the pipeline runs.", (m) => (m.live ? 1 : 0));
    const perOutput = (kind: typeof Counter | typeof Gauge, name: string, help: string, value: (m: OutputCounts) => number) => {
      const streams = this.streams;
      new kind({
        name,
        help,
        labelNames: ["stream", "output"],
        registers: [this.registry],
        collect(this: Counter | Gauge) {
          this.reset();
          for (const [stream, m] of streams) for (const [output, counts] of m.outputs) this.inc({ stream, output }, value(counts));
        },
      });
    };
    perOutput(Gauge, "dsanet_output_up", "1 while the output (recording, hls, publish, viewer, detector) works, 0 from its failure until it is back.", (m) => (m.downSinceMs === null ? 1 : 0));
    perOutput(Counter, "dsanet_output_dropped_total", "Deblurred frames the output did not take: it was busy with older ones, or down.", (m) => m.dropped);
    perOutput(Counter, "dsanet_output_failures_total", "Outages of the output (a dead encoder, a full disk, a lost RTSP server); each is retried with the cameras' backoff, and the log names its cause.", (m) => m.failures);
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
