/**
 * Batch norm folded into the convolution before it, for inference: kernel·s
 * and (bias − mean)·s + β with s = γ/√(var + ε), so evaluation runs one
 * fused conv (with its activation) instead of conv + batch norm + activation.
 * `FoldCache` keeps the folded pair while the sources are unchanged;
 * `fusedConv` runs a `Conv2d` with a replacement kernel and bias.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BatchNorm, Conv2d } from "../../core/nn/layers.ts";
import { backendHas } from "./activations.ts";
import { AtrousConv2d } from "./atrous.ts";
import { PaddedConv2d } from "./padded.ts";

/** Inference-mode batch-norm parameters. */
export interface BatchNormParams {
  /** Scale γ. */
  gamma: tf.Tensor1D;
  /** Offset β. */
  beta: tf.Tensor1D;
  /** Moving mean. */
  mean: tf.Tensor1D;
  /** Moving variance. */
  variance: tf.Tensor1D;
  /** Variance epsilon. */
  epsilon: number;
}

/**
 * Folds an inference-mode batch norm into the HWIO convolution before it:
 * kernel·s and (bias − mean)·s + β with s = γ/√(var + ε), so evaluation
 * runs one fused conv instead of conv + batch norm.
 */
export function foldBatchNorm(
  kernel: tf.Tensor4D,
  bias: tf.Tensor1D | undefined,
  bn: BatchNormParams,
  depthwise = false,
): { kernel: tf.Tensor4D; bias: tf.Tensor1D } {
  return tf.tidy(() => {
    const s = tf.mul(bn.gamma, tf.rsqrt(tf.add(bn.variance, bn.epsilon)));
    const centred = bias ? tf.sub(bias, bn.mean) : tf.neg(bn.mean);
    // a depthwise [k, k, C, 1] kernel's channels are its third axis
    const scale = depthwise ? tf.reshape(s, [-1, 1]) : s;
    return {
      kernel: tf.mul(kernel, scale) as tf.Tensor4D,
      bias: tf.add(tf.mul(centred, s), bn.beta) as tf.Tensor1D,
    };
  });
}

/** A conv kernel and bias with a batch norm folded in. */
export interface FoldedConv {
  /** HWIO kernel scaled per output channel. */
  kernel: tf.Tensor4D;
  /** Per-channel bias. */
  bias: tf.Tensor1D;
}

function isTapeRecording(): boolean {
  return tf.engine().state.gradientDepth > 0;
}

/**
 * Keeps the folded kernel and bias of one conv + batch norm while none of
 * their sources changed, so pseudo-labelling or evaluating thousands of
 * batches with a fixed teacher folds once instead of once per batch.
 * tfjs gives a variable a new `dataId` on every `assign`, which makes the
 * sources' dataIds a version key. While a gradient tape records, the fold
 * is recomputed so gradients still reach the sources.
 */
export class FoldCache {
  #key: unknown[] = [];
  #value: FoldedConv | null = null;
  readonly #depthwise: boolean;

  /** `depthwise`: the kernel is a depthwise `[k, k, C, 1]` one. */
  constructor(depthwise = false) {
    this.#depthwise = depthwise;
  }

  /**
   * Calls `use` with the folded pair; tensors it did not get from the
   * cache are disposed after `use` returns.
   */
  use<T>(
    kernel: tf.Tensor4D,
    bias: tf.Tensor1D | undefined,
    bn: BatchNormParams,
    use: (folded: FoldedConv) => T,
  ): T {
    if (isTapeRecording()) {
      const fresh = foldBatchNorm(kernel, bias, bn, this.#depthwise);
      try {
        return use(fresh);
      } finally {
        tf.dispose([fresh.kernel, fresh.bias]);
      }
    }
    const key = [
      kernel.dataId,
      bias?.dataId,
      bn.gamma.dataId,
      bn.beta.dataId,
      bn.mean.dataId,
      bn.variance.dataId,
      bn.epsilon,
    ];
    if (
      this.#value === null || key.some((part, i) => part !== this.#key[i])
    ) {
      this.dispose();
      const folded = foldBatchNorm(kernel, bias, bn, this.#depthwise);
      this.#value = {
        kernel: tf.keep(folded.kernel),
        bias: tf.keep(folded.bias),
      };
      this.#key = key;
    }
    return use(this.#value);
  }

  /** Frees the cached pair. */
  dispose(): void {
    if (this.#value) tf.dispose([this.#value.kernel, this.#value.bias]);
    this.#value = null;
    this.#key = [];
  }
}

/** The inference-mode parameters of `bn`. */
export function batchNormParams(bn: BatchNorm): BatchNormParams {
  return {
    gamma: bn.gamma as tf.Tensor1D,
    beta: bn.beta as tf.Tensor1D,
    mean: bn.movingMean as tf.Tensor1D,
    variance: bn.movingVariance as tf.Tensor1D,
    epsilon: bn.epsilon,
  };
}

/** Activations a fused convolution applies in the same kernel. */
export type FusedActivation = "linear" | "relu" | "relu6" | "sigmoid";

/**
 * Optional inference kernel: a convolution (attr `depthwise`: a depthwise
 * one) with a bias per output channel and an activation (attr
 * `activation`: a {@link FusedActivation} or "swish") in one pass.
 * Inputs `{x, filter, bias}`, attrs `strides`, `pad`, `dilations`,
 * `depthwise`, `activation`; no gradient. A backend that registers it
 * runs EfficientNet's conv + swish and depthwise conv + batch norm +
 * swish as one kernel each at inference.
 */
export const FUSED_CONV_KERNEL = "SelftrainFusedConv";

/** Whether {@link FUSED_CONV_KERNEL} can run now (registered, no tape). */
export function fusedConvKernelUsable(): boolean {
  return !isTapeRecording() && backendHas(FUSED_CONV_KERNEL);
}

/** Runs {@link FUSED_CONV_KERNEL} (see {@link fusedConvKernelUsable}). */
export function runFusedConvKernel(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D,
  attrs: {
    strides: number;
    pad: "same" | "valid";
    dilations: number;
    depthwise: boolean;
    activation: FusedActivation | "swish";
  },
): tf.Tensor4D {
  return tf.engine().runKernel(
    FUSED_CONV_KERNEL,
    { x, filter, bias },
    { ...attrs, strides: [attrs.strides, attrs.strides] },
  ) as tf.Tensor4D;
}

/**
 * Runs `conv` (its stride, padding and dilation) with a replacement
 * `kernel` and `bias` (e.g. a batch norm folded in) and a fused activation
 * ("swish" only where {@link fusedConvKernelUsable}).
 */
export function fusedConv(
  conv: Conv2d,
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  bias: tf.Tensor1D,
  activation: FusedActivation | "swish",
): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (activation === "swish") {
    const [input, pad] = conv instanceof PaddedConv2d
      ? conv.padded(x)
      : [x, "same" as const];
    return runFusedConvKernel(input, kernel, bias, {
      strides: conv.stride,
      pad,
      dilations: conv instanceof AtrousConv2d ? conv.rate : 1,
      depthwise: false,
      activation,
    });
  }
  if (kernel.shape[0] === 1 && kernel.shape[1] === 1 && conv.stride === 1) {
    // pointwise: a matrix product over pixels, as `pointwiseConv` does
    const y = tf.fused.matMul({
      a: tf.reshape(x, [n * h * w, c]),
      b: tf.reshape(kernel, [c, kernel.shape[3]]),
      bias,
      activation,
    });
    return tf.reshape(y, [n, h, w, kernel.shape[3]]);
  }
  const [input, pad] = conv instanceof PaddedConv2d
    ? conv.padded(x)
    : [x, "same" as const];
  return tf.fused.conv2d({
    x: input,
    filter: kernel,
    strides: conv.stride,
    pad,
    dilations: conv instanceof AtrousConv2d ? conv.rate : 1,
    bias,
    activation,
  });
}
