/**
 * Conv → batch norm → optional activation, the unit every Model Garden
 * backbone is built from, plus the shared normalisation/activation settings
 * and parameter-count helpers used by shape-only counting.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { SharedSettings } from "../../core/contracts.ts";
import { type ForwardContext, Module } from "../../core/nn/module.ts";
import { BatchNorm, Conv2d } from "../../core/nn/layers.ts";
import { activate } from "./activations.ts";
import { batchNormReluTraining, batchNormReluUsable } from "./bn_relu.ts";
import type { Activation } from "../../core/contracts.ts";
import {
  batchNormParams,
  FoldCache,
  type FusedActivation,
  fusedConv,
  fusedConvKernelUsable,
} from "./fold.ts";
import { applyConv } from "./ops.ts";
import { AtrousConv2d } from "./atrous.ts";
import { PaddedConv2d } from "./padded.ts";

/** Activation and batch-norm settings shared by a whole network. */
export interface NormActConfig {
  /** Activation after each conv-BN (Model Garden `norm_activation.activation`). */
  activation: Activation;
  /** Batch-norm moving-average momentum. */
  bnMomentum: number;
  /** Batch-norm variance epsilon. */
  bnEpsilon: number;
}

/**
 * A part's norm settings from the model's shared ones; `auto` becomes the
 * part's own default `activation`.
 */
export function normActFrom(
  shared: Readonly<SharedSettings>,
  activation: Activation,
): NormActConfig {
  return {
    activation: shared.activation === "auto" ? activation : shared.activation,
    bnMomentum: shared.bnMomentum,
    bnEpsilon: shared.bnEpsilon,
  };
}

/** Model Garden defaults: relu, momentum 0.99, epsilon 1e-3. */
export const DEFAULT_NORM_ACT: Readonly<NormActConfig> = {
  activation: "relu",
  bnMomentum: 0.99,
  bnEpsilon: 1e-3,
};

/** Options of `ConvBn`. */
export interface ConvBnOptions {
  /** Square kernel size. */
  kernel: number;
  /** Stride (default 1). */
  stride?: number;
  /** Dilation rate (default 1; stride must then be 1). */
  dilation?: number;
  /** Apply `norm.activation` after BN (default true). */
  act?: boolean;
  /** Initial BN gamma (default 1). */
  gammaInit?: number;
  /** PyTorch-style padding of a strided conv (see `PaddedConv2d`). */
  symmetricPadding?: boolean;
}

/** Conv (no bias) + BN + optional activation. */
export class ConvBn extends Module {
  /** The convolution. */
  readonly conv: Conv2d;
  /** The batch norm. */
  readonly bn: BatchNorm;
  readonly #act: Activation;
  /** Folded kernel and bias, kept while the weights are unchanged. */
  readonly #folds = new FoldCache();

  /** Creates `inChannels` → `outChannels` with the shared norm settings. */
  constructor(
    inChannels: number,
    outChannels: number,
    opts: ConvBnOptions,
    norm: NormActConfig,
  ) {
    super();
    const conv = { kernel: opts.kernel, stride: opts.stride ?? 1 };
    const rate = opts.dilation ?? 1;
    this.conv = this.child(
      "conv",
      rate > 1
        ? new AtrousConv2d(inChannels, outChannels, conv, rate)
        : opts.symmetricPadding
        ? new PaddedConv2d(inChannels, outChannels, conv)
        : new Conv2d(inChannels, outChannels, conv),
    );
    this.bn = this.child(
      "bn",
      new BatchNorm(outChannels, {
        momentum: norm.bnMomentum,
        epsilon: norm.bnEpsilon,
        gammaInit: opts.gammaInit,
      }),
    );
    this.#act = opts.act === false ? "linear" : norm.activation;
  }

  /** Frees the cached folded kernel. */
  protected override releaseDerived(): void {
    this.#folds.dispose();
  }

  /**
   * Applies conv, BN and the activation. At inference the batch norm is
   * folded into the convolution, which runs fused with the activation; in
   * training, batch norm and relu are one op where the backend fuses them.
   */
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    if (!ctx.training) {
      const fusable = this.#act !== "swish" || fusedConvKernelUsable();
      const y = this.#folds.use(
        this.conv.kernel as tf.Tensor4D,
        this.conv.bias as tf.Tensor1D | undefined,
        batchNormParams(this.bn),
        ({ kernel, bias }) =>
          fusedConv(
            this.conv,
            x,
            kernel,
            bias,
            fusable ? this.#act as FusedActivation | "swish" : "linear",
          ),
      );
      return fusable ? y : activate(y, this.#act) as tf.Tensor4D;
    }
    const z = applyConv(this.conv, x, this.conv.stride);
    if (this.#act === "relu" && !this.bn.frozen && batchNormReluUsable()) {
      return batchNormReluTraining(this.bn, z, ctx);
    }
    return activate(this.bn.apply(z, ctx), this.#act) as tf.Tensor4D;
  }
}

/** Trainable scalars of a conv (`bias` adds one per output channel). */
export function convParams(
  kernel: number,
  inChannels: number,
  outChannels: number,
  bias = false,
): number {
  return kernel * kernel * inChannels * outChannels + (bias ? outChannels : 0);
}

/** Trainable scalars of a batch norm (gamma and beta). */
export function bnParams(channels: number): number {
  return 2 * channels;
}

/** Trainable scalars of a `ConvBn`. */
export function convBnParams(
  kernel: number,
  inChannels: number,
  outChannels: number,
): number {
  return convParams(kernel, inChannels, outChannels) + bnParams(outChannels);
}
