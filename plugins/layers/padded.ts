/**
 * PyTorch-style padding, which torchvision's weights need: a strided conv
 * pads `(k−1)/2` on every side, where TensorFlow's `same` pads one pixel
 * less at the top / left of an even-sized input.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Conv2d } from "../../core/nn/layers.ts";

/**
 * `x` as a `k`×`k` conv at `stride` pads it, with the tfjs pad mode: `same`,
 * or with `symmetric` (and stride > 1, where the two differ) `(k−1)/2` per
 * side and `valid`.
 */
export function padInput(
  x: tf.Tensor4D,
  k: number,
  stride: number,
  symmetric: boolean,
): [tf.Tensor4D, "same" | "valid"] {
  if (!symmetric || stride === 1) return [x, "same"];
  const p = (k - 1) / 2;
  return [tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]), "valid"];
}

/** A `Conv2d` padded PyTorch's way (weights drawn as `Conv2d`'s). */
export class PaddedConv2d extends Conv2d {
  /** `x` padded as this conv needs it, and the tfjs pad mode. */
  padded(x: tf.Tensor4D): [tf.Tensor4D, "same" | "valid"] {
    return padInput(x, this.kernel.shape[0]!, this.stride, true);
  }

  /** Applies the convolution. */
  override apply(x: tf.Tensor4D): tf.Tensor4D {
    const [input, pad] = this.padded(x);
    const y = tf.conv2d(input, this.kernel as tf.Tensor4D, this.stride, pad);
    return this.bias ? tf.add(y, this.bias) : y;
  }
}
