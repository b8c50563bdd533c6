/**
 * Depthwise convolution (channel multiplier 1), the MobileNet / EfficientNet
 * building block, and its dilated form.
 */
import * as tf from "@tensorflow/tfjs-core";
import { heNormal } from "../../core/nn/layers.ts";
import { padInput } from "./padded.ts";
import { Module } from "../../core/nn/module.ts";
import { atrousDepthwiseConv2d, checkRate } from "./atrous.ts";

/** Depthwise 2-D convolution (channel multiplier 1), NHWC, `same` padding. */
export class DepthwiseConv2d extends Module {
  /** Kernel `[k, k, channels, 1]`. */
  readonly kernel: tf.Variable;
  /** Stride. */
  readonly stride: number;
  /** PyTorch-style padding (see `PaddedConv2d`). */
  readonly symmetricPadding: boolean;

  /** Creates the layer. */
  constructor(
    channels: number,
    kernel: number,
    stride = 1,
    symmetricPadding = false,
  ) {
    super();
    this.kernel = this.param(
      "kernel",
      heNormal([kernel, kernel, channels, 1], kernel * kernel),
    );
    this.stride = stride;
    this.symmetricPadding = symmetricPadding;
  }

  /** `x` padded as this conv needs it, and the tfjs pad mode. */
  padded(x: tf.Tensor4D): [tf.Tensor4D, "same" | "valid"] {
    const k = this.kernel.shape[0];
    return padInput(x, k, this.stride, this.symmetricPadding);
  }

  /** Applies the convolution. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const [input, pad] = this.padded(x);
    const k = this.kernel as tf.Tensor4D;
    return tf.depthwiseConv2d(input, k, this.stride, pad);
  }
}

/** A `DepthwiseConv2d` of dilation `rate` (stride 1), `same` padding. */
export class AtrousDepthwiseConv2d extends DepthwiseConv2d {
  /** Dilation rate. */
  readonly rate: number;

  /** Creates the layer (weights drawn as `DepthwiseConv2d`'s). */
  constructor(channels: number, kernel: number, rate: number) {
    super(channels, kernel, 1);
    checkRate(rate, 1);
    this.rate = rate;
  }

  /** Applies the dilated depthwise convolution. */
  override apply(x: tf.Tensor4D): tf.Tensor4D {
    return atrousDepthwiseConv2d(x, this.kernel as tf.Tensor4D, this.rate);
  }
}
