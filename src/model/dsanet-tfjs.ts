import type * as tfjs from "@tensorflow/tfjs";
import type { OnnxFloats } from "../convert/onnx-read.js";
import type { Tf } from "../tensorflow/load.js";

type T4 = tfjs.Tensor4D;

// DSANet's network in TensorFlow.js ops (NHWC), from the weights of its ONNX file (dsanet-file.ts):
// what the tfjs engine (src/engine/tfjs-engine.ts) runs.

/** The options of the trained network that change its graph (its ONNX file's config). */
export interface Architecture {
  readonly blocks: number;
  readonly attention: boolean;
  /** LayerNorm over the channels in front of the ConvLSTM. */
  readonly bottleneckNorm: boolean;
  /** Levels of 255 taken off the finest correction, toward zero (training/dsanet.py's `deadzone`). */
  readonly deadzone: number;
}

/**
 * The ONNX file's weights as tensors in the layouts TensorFlow's ops take, each made on its
 * first use, where the op that uses it says what it is, and kept until dispose().
 */
export class TfjsWeights {
  private readonly tensors = new Map<string, tfjs.Tensor>();

  constructor(
    private readonly tf: Tf,
    private readonly onnx: ReadonlyMap<string, OnnxFloats>,
    private readonly path: string,
  ) {}

  /**
   * A conv's kernel: one permutation serves both kinds, conv OIHW to HWIO (tf.conv2d's
   * filter) and transposed conv IOHW to HWOI (tf.conv2dTranspose's filter).
   */
  kernel(name: string): T4 {
    return this.get(name, (values, dims) => this.tf.transpose(this.tf.tensor(values, [...dims]), [2, 3, 1, 0])) as T4;
  }

  /** A per-channel parameter (a bias; LayerNorm's (1, C, 1, 1)) as (C,), which broadcasts over NHWC's last axis. */
  channels(name: string): tfjs.Tensor1D {
    return this.get(name, (values) => this.tf.tensor1d(values)) as tfjs.Tensor1D;
  }

  dispose(): void {
    for (const tensor of this.tensors.values()) tensor.dispose();
    this.tensors.clear();
  }

  private get(name: string, make: (values: Float32Array, dims: readonly number[]) => tfjs.Tensor): tfjs.Tensor {
    const made = this.tensors.get(name);
    if (made) return made;
    const weight = this.onnx.get(name);
    if (!weight) throw new Error(`${this.path}: no initializer ${name}; re-export it with training/export.py`);
    // Made inside the forward pass's tidy(), which would dispose it with the frame's tensors.
    const tensor = this.tf.keep(this.tf.tidy(() => make(weight.values, weight.dims)));
    this.tensors.set(name, tensor);
    return tensor;
  }
}

/** The forward pass of training/dsanet.py, op for op; weight names are its state-dict keys. */
export class DsanetOps {
  constructor(
    private readonly tf: Tf,
    private readonly weights: TfjsWeights,
    private readonly architecture: Architecture,
  ) {}

  dispose(): void {
    this.weights.dispose();
  }

  forward(blurred: T4, h: T4, c: T4, scales: number): [T4, T4, T4] {
    const { tf } = this;
    const pyramid = [blurred];
    for (let k = 1; k < scales; k++) pyramid.unshift(tf.avgPool(pyramid[0] as T4, 2, 2, "valid"));
    const factor = 2 ** (scales - 1);
    if (factor > 1) [h, c] = [tf.avgPool(h, factor, factor, "valid"), tf.avgPool(c, factor, factor, "valid")];

    let image = pyramid[0] as T4;
    let features: T4 | null = null;
    pyramid.forEach((input, level) => {
      if (level > 0) [image, h, c] = [this.upsample(image), this.upsample(h), this.upsample(c)];
      // A tidy per scale (and per residual block): at 720p one scale's intermediates would
      // otherwise outgrow the wasm backend's heap.
      [image, features, h, c] = tf.tidy(() => this.scale(input, image, features, h, c));
    });
    if (this.architecture.deadzone > 0) image = tf.tidy(() => tf.add<T4>(blurred, this.softShrink(tf.sub<T4>(image, blurred), this.architecture.deadzone / 255)));
    return [tf.clipByValue(image, 0, 1), h, c];
  }

  private scale(blurred: T4, coarse: T4, coarseFeatures: T4 | null, h: T4, c: T4): [T4, T4, T4, T4] {
    const { tf } = this;
    let e1 = this.relu(this.conv("net.enc1.0", tf.concat([blurred, coarse], 3), 2));
    if (coarseFeatures) e1 = tf.add<T4>(e1, coarseFeatures);
    e1 = this.resBlocks("net.enc1_blocks", e1);
    const e2 = this.resBlocks("net.enc2.1", this.relu(this.conv("net.enc2.0.0", e1, 2)));
    const e3 = this.resBlocks("net.enc3.1", this.relu(this.conv("net.enc3.0.0", e2, 2)));
    [h, c] = this.convLstm(this.architecture.bottleneckNorm ? this.layerNorm("net.lstm_norm", e3) : e3, h, c);
    const d1 = tf.add<T4>(this.up("net.dec1.1.0", this.resBlocks("net.dec1.0", h)), e2);
    const d2 = tf.add<T4>(this.up("net.dec2.1.0", this.resBlocks("net.dec2.0", d1)), e1);
    const f = this.up("net.dec3.1.0", this.resBlocks("net.dec3.0", d2));
    const restored = tf.add<T4>(this.conv("net.output.to_image", f), blurred);
    if (!this.architecture.attention) return [restored, f, h, c];
    const mask = tf.sigmoid(this.conv("net.output.to_mask", restored));
    return [restored, tf.add<T4>(tf.mul<T4>(this.conv("net.output.features", f), mask), f), h, c];
  }

  /** x moved toward zero by t, and zero within t of it (torch's softshrink). */
  private softShrink(x: T4, t: number): T4 {
    const { tf } = this;
    return tf.mul<T4>(tf.sign(x), tf.relu(tf.sub(tf.abs(x), t)));
  }

  private convLstm(x: T4, h: T4, c: T4): [T4, T4] {
    const { tf } = this;
    const [i, f, o, g] = tf.split(this.conv("net.lstm.gates", tf.concat([x, h], 3)), 4, 3) as [T4, T4, T4, T4];
    const cell = tf.add<T4>(tf.mul<T4>(tf.sigmoid(f), c), tf.mul<T4>(tf.sigmoid(i), tf.tanh(g)));
    return [tf.mul<T4>(tf.sigmoid(o), tf.tanh(cell)), cell];
  }

  private resBlocks(prefix: string, x: T4): T4 {
    return this.tf.tidy(() => {
      for (let b = 0; b < this.architecture.blocks; b++) {
        const input = x;
        x = this.tf.tidy(() => {
          const branch = this.conv(`${prefix}.${b}.body.2`, this.relu(this.conv(`${prefix}.${b}.body.0`, input)));
          return this.tf.add<T4>(input, branch);
        });
      }
      return x;
    });
  }

  /** LayerNorm2d of training/dsanet.py: over each pixel's channels, eps 1e-6. */
  private layerNorm(name: string, x: T4): T4 {
    const { tf } = this;
    const { mean, variance } = tf.moments(x, 3, true);
    const normalised = tf.div<T4>(tf.sub<T4>(x, mean), tf.sqrt(tf.add(variance, 1e-6)));
    return tf.add<T4>(tf.mul<T4>(normalised, this.weights.channels(`${name}.weight`)), this.weights.channels(`${name}.bias`));
  }

  /** 3x3 conv with PyTorch's symmetric padding of 1 (TensorFlow's 'same' pads stride 2 unevenly). */
  private conv(name: string, x: T4, stride: 1 | 2 = 1): T4 {
    return this.tf.add<T4>(this.tf.conv2d(x, this.weights.kernel(`${name}.weight`), stride, 1), this.weights.channels(`${name}.bias`));
  }

  /** 4x4 transposed conv, stride 2, padding 1: doubles height and width, then ReLU. */
  private up(name: string, x: T4): T4 {
    const filter = this.weights.kernel(`${name}.weight`);
    const [n, height, width] = x.shape;
    const outShape: [number, number, number, number] = [n, height * 2, width * 2, filter.shape[2]];
    return this.relu(this.tf.add<T4>(this.tf.conv2dTranspose(x, filter, outShape, 2, 1), this.weights.channels(`${name}.bias`)));
  }

  private upsample(x: T4): T4 {
    const [, height, width] = x.shape;
    return this.tf.image.resizeBilinear(x, [height * 2, width * 2], false, true);
  }

  private relu(x: T4): T4 {
    return this.tf.relu(x);
  }
}
