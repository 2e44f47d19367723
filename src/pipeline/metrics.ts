/** Counters of the live pipeline, per stream, in Prometheus' text format for /metrics. */

/** Latencies kept for percentiles. */
const RECENT = 500;

const LATENCY_BUCKETS_MS = [50, 100, 250, 500, 1000, 2500, 5000, 10000];

class Histogram {
  readonly counts = LATENCY_BUCKETS_MS.map(() => 0);
  sum = 0;
  count = 0;

  observe(ms: number): void {
    LATENCY_BUCKETS_MS.forEach((bound, i) => {
      if (ms <= bound) this.counts[i] = (this.counts[i] as number) + 1;
    });
    this.sum += ms;
    this.count++;
  }
}

export class StreamMetrics {
  framesIn = 0;
  framesOut = 0;
  framesDropped = 0;
  reconnects = 0;
  /** The last outage, from the lost stream to its first frame back. */
  lastRecoveryMs = 0;
  /** Deblurred frames the recording could not take in time (its encoder fell behind). */
  recordingDropped = 0;
  live = false;
  lastLatencyMs = 0;
  readonly inference = new Histogram();
  readonly latency = new Histogram();
  private outTimes: number[] = [];
  private recentLatencies: number[] = [];

  /** A frame left the deblur stage `latencyMs` after it arrived. */
  delivered(inferenceMs: number, latencyMs: number): void {
    this.framesOut++;
    this.inference.observe(inferenceMs);
    this.latency.observe(latencyMs);
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

export class LiveMetrics {
  readonly streams = new Map<string, StreamMetrics>();
  viewers = 0;

  stream(name: string): StreamMetrics {
    let metrics = this.streams.get(name);
    if (!metrics) {
      metrics = new StreamMetrics();
      this.streams.set(name, metrics);
    }
    return metrics;
  }

  toPrometheus(): string {
    const lines: string[] = [];
    const counter = (name: string, help: string, value: (m: StreamMetrics) => number, type = "counter") => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [stream, m] of this.streams) lines.push(`${name}{stream="${escape(stream)}"} ${value(m)}`);
    };
    counter("dsanet_frames_in_total", "Frames received from the source.", (m) => m.framesIn);
    counter("dsanet_frames_out_total", "Frames deblurred and delivered.", (m) => m.framesOut);
    counter("dsanet_frames_dropped_total", "Frames dropped because inference fell behind.", (m) => m.framesDropped);
    counter("dsanet_reconnects_total", "Outages of the source followed by a reconnection attempt.", (m) => m.reconnects);
    counter("dsanet_stream_up", "1 while the source delivers frames.", (m) => (m.live ? 1 : 0), "gauge");
    counter("dsanet_last_recovery_seconds", "The last outage: from the lost stream to its first frame back.", (m) => m.lastRecoveryMs / 1000, "gauge");
    counter("dsanet_recording_dropped_total", "Deblurred frames dropped because the recording's encoder fell behind.", (m) => m.recordingDropped);
    histogram(lines, this.streams, "dsanet_inference_seconds", "Time in the model per frame.", (m) => m.inference);
    histogram(lines, this.streams, "dsanet_latency_seconds", "From frame arrival to deblurred frame.", (m) => m.latency);
    lines.push("# HELP dsanet_viewers Connected WebSocket viewers.", "# TYPE dsanet_viewers gauge", `dsanet_viewers ${this.viewers}`);
    return lines.join("\n") + "\n";
  }
}

function escape(label: string): string {
  return label.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function histogram(lines: string[], streams: Map<string, StreamMetrics>, name: string, help: string, pick: (m: StreamMetrics) => Histogram): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
  for (const [stream, m] of streams) {
    const h = pick(m);
    const label = `stream="${escape(stream)}"`;
    LATENCY_BUCKETS_MS.forEach((bound, i) => lines.push(`${name}_bucket{${label},le="${bound / 1000}"} ${h.counts[i]}`));
    lines.push(`${name}_bucket{${label},le="+Inf"} ${h.count}`, `${name}_sum{${label}} ${h.sum / 1000}`, `${name}_count{${label}} ${h.count}`);
  }
}
