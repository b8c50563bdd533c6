/**
 * Basic layers over `Module`: convolution, batch norm, dense.
 * Initialisation is seeded through `withInitSeed` so building the same
 * model with the same seed gives identical weights.
 */
import * as tf from "@tensorflow/tfjs-core";
import { batchNormTraining } from "./batch_norm.ts";
import { type ForwardContext, Module } from "./module.ts";
import { seedFor } from "../rng.ts";

let initSeed = 0;
let initCounter = 0;

/** Builds modules inside `fn` with weights drawn from `seed`. */
export function withInitSeed<T>(seed: number, fn: () => T): T {
  const saved = [initSeed, initCounter];
  initSeed = seed;
  initCounter = 0;
  try {
    return fn();
  } finally {
    [initSeed, initCounter] = saved;
  }
}

function nextSeed(): number {
  return seedFor(initSeed, initCounter++);
}

/** He (fan-out, normal) init, as used for conv kernels in the reference code. */
export function heNormal(shape: number[], fan: number): tf.Tensor {
  return tf.randomNormal(shape, 0, Math.sqrt(2 / fan), "float32", nextSeed());
}

/** Options of `Conv2d`. */
export interface Conv2dOptions {
  /** Square kernel size. */
  kernel: number;
  /** Stride (default 1). */
  stride?: number;
  /** Add a bias (default false: convs are usually followed by BN). */
  bias?: boolean;
  /** Initial bias value (default 0). */
  biasInit?: number;
  /** Kernel init std; default He normal over fan-out. */
  std?: number;
}

/**
 * 2-D convolution, NHWC, `same` padding (dilated and PyTorch-padded ones:
 * `AtrousConv2d`, `PaddedConv2d` in `plugins/layers`).
 */
export class Conv2d extends Module {
  /** Kernel `[k, k, in, out]`. */
  readonly kernel: tf.Variable;
  /** Optional bias `[out]`. */
  readonly bias?: tf.Variable;
  /** Stride. */
  readonly stride: number;

  /** Creates the layer for `inChannels` → `outChannels`. */
  constructor(inChannels: number, outChannels: number, opts: Conv2dOptions) {
    super();
    const k = opts.kernel;
    const shape = [k, k, inChannels, outChannels];
    this.kernel = this.param(
      "kernel",
      opts.std !== undefined
        ? tf.randomNormal(shape, 0, opts.std, "float32", nextSeed())
        : heNormal(shape, k * k * outChannels),
    );
    if (opts.bias) {
      this.bias = this.param(
        "bias",
        tf.fill([outChannels], opts.biasInit ?? 0),
      );
    }
    this.stride = opts.stride ?? 1;
  }

  /** Applies the convolution. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const y = tf.conv2d(x, this.kernel as tf.Tensor4D, this.stride, "same");
    return this.bias ? tf.add(y, this.bias) : y;
  }
}

/** Options of `BatchNorm`. */
export interface BatchNormOptions {
  /** Moving-average momentum (default 0.99, as Keras / Model Garden). */
  momentum?: number;
  /** Variance epsilon (default 1e-3). */
  epsilon?: number;
  /** Initial gamma (default 1; 0 for the last BN of a residual branch). */
  gammaInit?: number;
}

/**
 * Batch normalisation over the last axis. In training mode it normalises with
 * batch statistics and updates the moving averages; in inference mode it uses
 * the moving averages.
 */
export class BatchNorm extends Module {
  /** Scale. */
  readonly gamma: tf.Variable;
  /** Offset. */
  readonly beta: tf.Variable;
  /** Moving mean. */
  readonly movingMean: tf.Variable;
  /** Moving variance. */
  readonly movingVariance: tf.Variable;
  /** Moving-average momentum. */
  readonly momentum: number;
  /** Variance epsilon. */
  readonly epsilon: number;

  /** Creates the layer for `channels` features. */
  constructor(channels: number, opts: BatchNormOptions = {}) {
    super();
    this.gamma = this.param("gamma", tf.fill([channels], opts.gammaInit ?? 1));
    this.beta = this.param("beta", tf.zeros([channels]));
    this.movingMean = this.buffer("moving_mean", tf.zeros([channels]));
    this.movingVariance = this.buffer("moving_variance", tf.ones([channels]));
    this.momentum = opts.momentum ?? 0.99;
    this.epsilon = opts.epsilon ?? 1e-3;
  }

  /**
   * Normalises `x`; updates moving statistics when training. A frozen
   * batch norm always uses (and keeps) its moving statistics.
   */
  apply<T extends tf.Tensor>(x: T, ctx: ForwardContext): T {
    if (!ctx.training || this.frozen) {
      return tf.batchNorm(
        x,
        this.movingMean as tf.Tensor1D,
        this.movingVariance as tf.Tensor1D,
        this.beta as tf.Tensor1D,
        this.gamma as tf.Tensor1D,
        this.epsilon,
      ) as T;
    }
    const { y, mean, variance } = batchNormTraining(
      x,
      this.gamma as tf.Tensor1D,
      this.beta as tf.Tensor1D,
      this.epsilon,
    );
    this.updateStatistics([mean, variance], ctx);
    return y;
  }

  /** Moves the moving statistics toward a batch's `[mean, variance]`; frees them. */
  updateStatistics(batch: tf.Tensor[], ctx: ForwardContext): void {
    // State: `assign` is not recorded on the gradient tape.
    tf.tidy(() => {
      if (ctx.keepStatistics) return;
      const m = this.momentum;
      [this.movingMean, this.movingVariance].forEach((v, i) =>
        v.assign(tf.add(tf.mul(v, m), tf.mul(batch[i], 1 - m)))
      );
    });
    tf.dispose(batch);
  }
}

/** Fully connected layer. */
export class Dense extends Module {
  /** Kernel `[in, out]`. */
  readonly kernel: tf.Variable;
  /** Bias `[out]`. */
  readonly bias: tf.Variable;

  /** Creates the layer (Glorot-uniform kernel, zero bias). */
  constructor(inFeatures: number, outFeatures: number, biasInit = 0) {
    super();
    const limit = Math.sqrt(6 / (inFeatures + outFeatures));
    const shape = [inFeatures, outFeatures];
    this.kernel = this.param(
      "kernel",
      tf.randomUniform(shape, -limit, limit, "float32", nextSeed()),
    );
    this.bias = this.param("bias", tf.fill([outFeatures], biasInit));
  }

  /** Applies `x · W + b`. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.kernel as tf.Tensor2D), this.bias);
  }
}
