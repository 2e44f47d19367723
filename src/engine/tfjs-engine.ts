import type * as tfjs from "@tensorflow/tfjs";
import { loadTensorflow, type TfjsBackend } from "../tensorflow/load.js";
import { DsanetOps, TfjsWeights } from "../model/dsanet-tfjs.js";
import { readDsanetFile } from "../model/dsanet-file.js";
import { BYTES_PER_PIXEL, checkFrames, DSANET_REGION_CONTEXT, padded, strideFor, type Engine, type EngineInput, type EngineOutput, type EngineState } from "./engine.js";
import { toBytes, toFloat } from "./pixels.js";

type T4 = tfjs.Tensor4D;

export interface TfjsEngineOptions {
  /** models/dsanet.onnx: training/export.py's ONNX file, whose weights and config this engine reads. */
  readonly model: string;
  /** null: the K the weights were trained with (their config's). */
  readonly scales: number | null;
  readonly backend: TfjsBackend;
}

class TfjsState implements EngineState {
  constructor(
    readonly h: T4,
    readonly c: T4,
  ) {}
  dispose(): void {
    this.h.dispose();
    this.c.dispose();
  }
}

/** DSANet written in TensorFlow.js ops (NHWC), from the same trained weights as the ONNX model. */
export async function createTfjsEngine(options: TfjsEngineOptions): Promise<Engine> {
  const { tf, backendName } = await loadTensorflow(options.backend);
  const { config, weights } = await readDsanetFile(options.model);
  // export.py folds scaled blocks into plain ones; NAFNet's blocks have no tfjs version here.
  if (config.block !== "plain") throw new Error(`${options.model}: the tfjs engine has no '${config.block}' block; use --engine onnx`);
  const net = new DsanetOps(tf, new TfjsWeights(tf, weights, options.model), { blocks: config.blocks, attention: config.attention, bottleneckNorm: config.bottleneck_norm, deadzone: config.deadzone });
  const scales = options.scales ?? config.scales;
  const stateChannels = config.channels[2];
  const stride = strideFor(scales);

  return {
    name: `tfjs (${backendName})`,
    bytesPerPixel: BYTES_PER_PIXEL.tfjs,
    regionTileLimit: null,
    regionContext: DSANET_REGION_CONTEXT,
    stride,
    scales,
    carriesState: true,
    async run(inputs: readonly EngineInput[], height: number, width: number): Promise<EngineOutput[]> {
      checkFrames(inputs, height, width);
      const rows = inputs.length;
      const [paddedHeight, paddedWidth] = [padded(height, stride), padded(width, stride)];
      const whole = { x: 0, y: 0, width, height };
      const [sharp, h, c] = tf.tidy(() => {
        const pixels = inputs.map(({ rgb }) => tf.tensor4d(toFloat(rgb, width, whole, paddedHeight, paddedWidth, "nhwc"), [1, paddedHeight, paddedWidth, 3]));
        // A stream without a state (its first frame) starts from zeros.
        const zeros = () => tf.zeros([1, paddedHeight / 8, paddedWidth / 8, stateChannels]) as T4;
        const carried = (part: "h" | "c") => tf.concat(inputs.map(({ state }) => (state instanceof TfjsState ? state[part] : zeros())));
        return net.forward(tf.concat(pixels), carried("h"), carried("c"), scales);
      });
      const data = (await sharp.data()) as Float32Array;
      sharp.dispose();
      const [hs, cs] = rows === 1 ? [[h], [c]] : [tf.split(h, rows), tf.split(c, rows)];
      if (rows > 1) tf.dispose([h, c]);
      const imageSize = paddedHeight * paddedWidth * 3;
      return inputs.map((_, i) => {
        const rgb = new Uint8Array(height * width * 3);
        toBytes(data.subarray(i * imageSize, (i + 1) * imageSize), "nhwc", paddedHeight, paddedWidth, whole, rgb, width);
        return { rgb, state: new TfjsState(hs[i] as T4, cs[i] as T4) };
      });
    },
    async close(): Promise<void> {
      net.dispose();
    },
  };
}
