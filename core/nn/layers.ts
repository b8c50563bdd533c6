/**
 * Basic layers over `Module`: convolutions, batch norm, dense, activations,
 * drop-connect. Initialisation is seeded through `withInitSeed` so building
 * the same model with the same seed gives identical weights.
 */
import * as tf from "@tensorflow/tfjs-core";
import { batchNormTraining, FoldCache, type FoldedConv } from "./batch_norm.ts";
import { type ForwardContext, Module } from "./module.ts";
import { atrousConv2d, atrousDepthwiseConv2d } from "./atrous.ts";
import { swish } from "./swish.ts";
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

/** Normal init with a given standard deviation. */
export function normalInit(shape: number[], std: number): tf.Tensor {
  return tf.randomNormal(shape, 0, std, "float32", nextSeed());
}

/** Uniform init in [-limit, limit]. */
export function uniformInit(shape: number[], limit: number): tf.Tensor {
  return tf.randomUniform(shape, -limit, limit, "float32", nextSeed());
}

/** Activation names understood by `activate`. */
export type Activation = "relu" | "swish" | "sigmoid" | "linear" | "relu6";

/** Applies a named activation. */
export function activate(x: tf.Tensor, fn: Activation): tf.Tensor {
  switch (fn) {
    case "relu":
      return tf.relu(x);
    case "relu6":
      return tf.relu6(x);
    case "swish":
      return swish(x);
    case "sigmoid":
      return tf.sigmoid(x);
    case "linear":
      return x;
  }
}

/** Activations a fused convolution applies in the same kernel. */
export type FusedActivation = "linear" | "relu" | "relu6" | "sigmoid";

/** Options of `Conv2d`. */
export interface Conv2dOptions {
  /** Square kernel size. */
  kernel: number;
  /** Stride (default 1). */
  stride?: number;
  /** Dilation rate (default 1). */
  dilation?: number;
  /** Add a bias (default false: convs are usually followed by BN). */
  bias?: boolean;
  /** Initial bias value (default 0). */
  biasInit?: number;
  /** Kernel init std; default He normal over fan-out. */
  std?: number;
  /**
   * Pad `dilation·(k−1)/2` on every side (PyTorch's convention) instead of
   * TensorFlow's `same`, which pads one pixel less at the top / left of a
   * strided conv on an even-sized input (default false).
   */
  symmetricPadding?: boolean;
}

/**
 * `x` padded for a PyTorch-style convolution when it differs from `same`
 * (stride > 1 only: at stride 1 both pad `(k−1)/2` per side), or `null`.
 */
function symmetricPad(
  x: tf.Tensor4D,
  kernel: number,
  stride: number,
  dilation: number,
): tf.Tensor4D | null {
  if (stride === 1) return null;
  const p = (dilation * (kernel - 1)) / 2;
  return tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]);
}

/** 2-D convolution, NHWC, `same` padding. */
export class Conv2d extends Module {
  /** Kernel `[k, k, in, out]`. */
  readonly kernel: tf.Variable;
  /** Optional bias `[out]`. */
  readonly bias?: tf.Variable;
  readonly #stride: number;
  readonly #dilation: number;
  readonly #symmetric: boolean;

  /** Creates the layer for `inChannels` → `outChannels`. */
  constructor(inChannels: number, outChannels: number, opts: Conv2dOptions) {
    super();
    const k = opts.kernel;
    const shape = [k, k, inChannels, outChannels];
    this.kernel = this.param(
      "kernel",
      opts.std !== undefined
        ? normalInit(shape, opts.std)
        : heNormal(shape, k * k * outChannels),
    );
    if (opts.bias) {
      this.bias = this.param(
        "bias",
        tf.fill([outChannels], opts.biasInit ?? 0),
      );
    }
    this.#stride = opts.stride ?? 1;
    this.#dilation = opts.dilation ?? 1;
    this.#symmetric = opts.symmetricPadding ?? false;
  }

  /** `x` padded for symmetric padding, or `null` when `same` is the same thing. */
  #padded(x: tf.Tensor4D): tf.Tensor4D | null {
    return this.#symmetric
      ? symmetricPad(x, this.kernel.shape[0], this.#stride, this.#dilation)
      : null;
  }

  /** Applies the convolution. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const padded = this.#padded(x);
    // tfjs has no gradient for dilation > 1: those run as space-to-batch.
    const y = padded
      ? tf.conv2d(
        padded,
        this.kernel as tf.Tensor4D,
        this.#stride,
        "valid",
        "NHWC",
        this.#dilation,
      )
      : this.#dilation > 1 && this.#stride === 1
      ? atrousConv2d(x, this.kernel as tf.Tensor4D, this.#dilation)
      : tf.conv2d(
        x,
        this.kernel as tf.Tensor4D,
        this.#stride,
        "same",
        "NHWC",
        this.#dilation,
      );
    return this.bias ? tf.add(y, this.bias) : y;
  }

  /**
   * Convolves with a replacement `kernel` and `bias` (e.g. batch norm folded
   * in) and a fused activation, at this layer's stride and dilation.
   */
  applyFused(
    x: tf.Tensor4D,
    kernel: tf.Tensor4D,
    bias: tf.Tensor1D,
    activation: FusedActivation,
  ): tf.Tensor4D {
    const [n, h, w, c] = x.shape;
    if (kernel.shape[0] === 1 && kernel.shape[1] === 1 && this.#stride === 1) {
      // pointwise: a matrix product over pixels, as `pointwiseConv` does
      const y = tf.fused.matMul({
        a: tf.reshape(x, [n * h * w, c]),
        b: tf.reshape(kernel, [c, kernel.shape[3]]),
        bias,
        activation,
      });
      return tf.reshape(y, [n, h, w, kernel.shape[3]]);
    }
    const padded = this.#padded(x);
    return tf.fused.conv2d({
      x: padded ?? x,
      filter: kernel,
      strides: this.#stride,
      pad: padded ? "valid" : "same",
      dilations: this.#dilation,
      bias,
      activation,
    });
  }
}

/** Depthwise 2-D convolution (channel multiplier 1), NHWC, `same` padding. */
export class DepthwiseConv2d extends Module {
  /** Kernel `[k, k, channels, 1]`. */
  readonly kernel: tf.Variable;
  readonly #stride: number;
  readonly #dilation: number;
  readonly #symmetric: boolean;

  /** Creates the layer (`symmetricPadding`: as `Conv2dOptions`). */
  constructor(
    channels: number,
    kernel: number,
    stride = 1,
    dilation = 1,
    symmetricPadding = false,
  ) {
    super();
    this.kernel = this.param(
      "kernel",
      heNormal([kernel, kernel, channels, 1], kernel * kernel),
    );
    this.#stride = stride;
    this.#dilation = dilation;
    this.#symmetric = symmetricPadding;
  }

  /** Applies the convolution. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const padded = this.#symmetric
      ? symmetricPad(x, this.kernel.shape[0], this.#stride, this.#dilation)
      : null;
    if (padded) {
      return tf.depthwiseConv2d(
        padded,
        this.kernel as tf.Tensor4D,
        this.#stride,
        "valid",
        "NHWC",
        this.#dilation,
      );
    }
    if (this.#dilation > 1 && this.#stride === 1) {
      return atrousDepthwiseConv2d(
        x,
        this.kernel as tf.Tensor4D,
        this.#dilation,
      );
    }
    return tf.depthwiseConv2d(
      x,
      this.kernel as tf.Tensor4D,
      this.#stride,
      "same",
      "NHWC",
      this.#dilation,
    );
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
  readonly #momentum: number;
  readonly #epsilon: number;
  readonly #folds = new FoldCache();

  /** Creates the layer for `channels` features. */
  constructor(channels: number, opts: BatchNormOptions = {}) {
    super();
    this.gamma = this.param("gamma", tf.fill([channels], opts.gammaInit ?? 1));
    this.beta = this.param("beta", tf.zeros([channels]));
    this.movingMean = this.buffer("moving_mean", tf.zeros([channels]));
    this.movingVariance = this.buffer("moving_variance", tf.ones([channels]));
    this.#momentum = opts.momentum ?? 0.99;
    this.#epsilon = opts.epsilon ?? 1e-3;
  }

  /**
   * Folds the inference-mode normalisation into the convolution before it:
   * kernel·s and (bias − mean)·s + beta with s = gamma/√(var + ε), so
   * evaluation runs one fused conv instead of conv + batch norm. The folded
   * pair is cached while the weights and statistics are unchanged (and
   * owned by the layer: `use` must not dispose it).
   */
  withFolded<T>(
    kernel: tf.Tensor4D,
    bias: tf.Tensor1D | undefined,
    use: (folded: FoldedConv) => T,
  ): T {
    return this.#folds.use(kernel, bias, {
      gamma: this.gamma as tf.Tensor1D,
      beta: this.beta as tf.Tensor1D,
      mean: this.movingMean as tf.Tensor1D,
      variance: this.movingVariance as tf.Tensor1D,
      epsilon: this.#epsilon,
    }, use);
  }

  /** Frees the cached folded kernel. */
  protected override releaseDerived(): void {
    this.#folds.dispose();
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
        this.#epsilon,
      ) as T;
    }
    const { y, mean, variance } = batchNormTraining(
      x,
      this.gamma as tf.Tensor1D,
      this.beta as tf.Tensor1D,
      this.#epsilon,
    );
    // The moving-average update is state: `assign` is not recorded on the
    // gradient tape, so it does not contribute to gradients.
    const m = this.#momentum;
    tf.tidy(() => {
      this.movingMean.assign(
        tf.add(tf.mul(this.movingMean, m), tf.mul(mean, 1 - m)),
      );
      this.movingVariance.assign(
        tf.add(tf.mul(this.movingVariance, m), tf.mul(variance, 1 - m)),
      );
    });
    tf.dispose([mean, variance]);
    return y;
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
    this.kernel = this.param(
      "kernel",
      uniformInit([inFeatures, outFeatures], limit),
    );
    this.bias = this.param("bias", tf.fill([outFeatures], biasInit));
  }

  /** Applies `x · W + b`. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.kernel as tf.Tensor2D), this.bias);
  }
}

/**
 * Drop-connect (stochastic depth): in training, zeroes whole examples of a
 * residual branch with probability `rate` and rescales the rest.
 */
export function dropConnect(
  x: tf.Tensor4D,
  rate: number,
  ctx: ForwardContext,
): tf.Tensor4D {
  if (!ctx.training || rate <= 0) return x;
  const keep = 1 - rate;
  const mask = tf.floor(
    tf.add(
      tf.randomUniform(
        [x.shape[0], 1, 1, 1],
        0,
        1,
        "float32",
        ctx.rng?.nextUint32(),
      ),
      keep,
    ),
  );
  return tf.mul(tf.div(x, keep), mask);
}
