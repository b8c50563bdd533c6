/**
 * Atrous (dilated) convolution that trains on every backend. tfjs runs
 * `conv2d` / `depthwiseConv2d` with dilations > 1 forward, but its gradients
 * refuse dilation rates above 1. The same result comes from the identity
 * TensorFlow's `atrous_conv2d` uses: pad, `spaceToBatchND` with block
 * `rate × rate`, an undilated `valid` convolution, `batchToSpaceND` and a
 * crop. Every op of it has a gradient, and the work equals one undilated
 * convolution of the same kernel. `AtrousConv2d` (and `AtrousDepthwiseConv2d`
 * in `depthwise.ts`) are the dilated layers of segmentation backbones and
 * heads: the plain layers with the same weights, run this way.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Conv2d, type Conv2dOptions } from "../../core/nn/layers.ts";

/**
 * Runs `convValid` (an undilated, stride-1, `valid` convolution with a
 * square odd kernel `kernel`) as a `same`-padded convolution of dilation
 * `rate` on `x`. `rate` 1 pads and calls `convValid` directly.
 */
export function atrous(
  x: tf.Tensor4D,
  rate: number,
  kernel: number,
  convValid: (x: tf.Tensor4D) => tf.Tensor4D,
): tf.Tensor4D {
  if (!Number.isInteger(rate) || rate < 1) {
    throw new Error(
      `plugins/layers/atrous.ts: rate must be an integer >= 1, got ${rate}`,
    );
  }
  if (!Number.isInteger(kernel) || kernel < 1 || kernel % 2 === 0) {
    throw new Error(
      `plugins/layers/atrous.ts: kernel must be odd, got ${kernel}`,
    );
  }
  const [, h, w] = x.shape;
  const p = ((kernel - 1) / 2) * rate;
  if (rate === 1) {
    return convValid(tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]));
  }
  // Extra rows / columns at the bottom / right make the padded size a
  // multiple of the rate; they are cropped away again at the end.
  const eh = (rate - ((h + 2 * p) % rate)) % rate;
  const ew = (rate - ((w + 2 * p) % rate)) % rate;
  const s = tf.spaceToBatchND(x, [rate, rate], [[p, p + eh], [p, p + ew]]);
  const y = convValid(s as tf.Tensor4D);
  return tf.batchToSpaceND(y, [rate, rate], [[0, eh], [0, ew]]) as tf.Tensor4D;
}

type ValidConv = (x: tf.Tensor4D, f: tf.Tensor4D) => tf.Tensor4D;

function atrousWith(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  rate: number,
  conv: ValidConv,
): tf.Tensor4D {
  if (filter.shape[0] !== filter.shape[1]) {
    throw new Error(
      `plugins/layers/atrous.ts: atrous kernels must be square, got [${filter.shape}]`,
    );
  }
  const k = filter.shape[0];
  const [, h, w] = x.shape;
  // (an even k goes on to atrous(), which rejects it)
  if (rate >= h && rate >= w && k > 1 && k % 2 === 1) {
    // Every tap but the centre lands in the zero padding for every output
    // pixel (|offset| >= rate >= the map size): the result is exactly the
    // 1x1 convolution with the centre tap. ASPP's rates 6/12/18 on the 4x4
    // map of a 64-px input are this case; space-to-batch would convolve
    // rate^2 mostly-zero blocks instead.
    const c = (k - 1) / 2;
    return conv(x, tf.slice(filter, [c, c, 0, 0], [1, 1, -1, -1]));
  }
  return atrous(x, rate, k, (v) => conv(v, filter));
}

/** `same`-padded stride-1 conv2d of dilation `rate`, trainable everywhere. */
export function atrousConv2d(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  rate: number,
): tf.Tensor4D {
  if (rate === 1) return tf.conv2d(x, filter, 1, "same");
  return atrousWith(x, filter, rate, (v, f) => tf.conv2d(v, f, 1, "valid"));
}

/** `same`-padded stride-1 depthwise conv of dilation `rate`, trainable everywhere. */
export function atrousDepthwiseConv2d(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  rate: number,
): tf.Tensor4D {
  if (rate === 1) return tf.depthwiseConv2d(x, filter, 1, "same");
  return atrousWith(
    x,
    filter,
    rate,
    (v, f) => tf.depthwiseConv2d(v, f, 1, "valid"),
  );
}

/** Checks a dilation rate and the stride it runs at. */
export function checkRate(rate: number, stride: number): void {
  if (!Number.isInteger(rate) || rate < 1 || stride !== 1) {
    throw new Error(
      `plugins/layers/atrous.ts: a dilated conv needs an integer rate >= 1 and stride 1, got rate ${rate}, stride ${stride}`,
    );
  }
}

/** A `Conv2d` of dilation `rate` (stride 1), `same` padding. */
export class AtrousConv2d extends Conv2d {
  /** Dilation rate. */
  readonly rate: number;

  /** Creates the layer (weights drawn as `Conv2d`'s). */
  constructor(
    inChannels: number,
    outChannels: number,
    opts: Conv2dOptions,
    rate: number,
  ) {
    super(inChannels, outChannels, opts);
    checkRate(rate, this.stride);
    this.rate = rate;
  }

  /** Applies the dilated convolution. */
  override apply(x: tf.Tensor4D): tf.Tensor4D {
    const y = atrousConv2d(x, this.kernel as tf.Tensor4D, this.rate);
    return this.bias ? tf.add(y, this.bias) : y;
  }
}
