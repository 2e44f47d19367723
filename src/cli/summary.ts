import type { DeblurSummary } from "../pipeline/deblur-file.js";

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The end-of-job report, on stderr like the progress bar. */
export function printSummary(s: DeblurSummary): void {
  process.stderr.write(
    [
      `${s.input} -> ${s.output}`,
      `  ${s.frames} frames in ${s.seconds.toFixed(1)} s: ${s.fps.toFixed(2)} fps end to end, engine ${s.engine}`,
      `  inference ${seconds(s.inferenceMs)}, waiting for the decoder ${seconds(s.waitingForDecoderMs)}, blocked on the encoder ${seconds(s.encodeMs)}`,
      ...(s.deblurredShare < 1 ? [`  regions: ${(100 * s.deblurredShare).toFixed(1)}% of the pixels went through the model (what moved), the rest is the input's own`] : []),
      ...(s.detected || s.detectorSkipped ? [`  detector: ${s.detected} frames looked at, ${s.detectorSkipped} skipped while it was busy`] : []),
    ].join("\n") + "\n",
  );
}
