/**
 * One RetinaNet subnet (class or box): `numConvs` 3×3 convolutions shared
 * across levels, each followed by a batch norm owned by its level (the
 * reference keeps per-level BN statistics, since levels differ) and an
 * activation, then a 3×3 prediction convolution. Initialisation as the
 * tensorflow/tpu head: hidden kernels N(0, 0.01²) with zero bias, prediction
 * kernel N(0, 1e-5²) with the given bias.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { ForwardContext } from "../../core/nn/module.ts";
import { Module } from "../../core/nn/module.ts";
import { BatchNorm, Conv2d } from "../../core/nn/layers.ts";
import { activate } from "../layers/activations.ts";
import type { Activation } from "../../core/contracts.ts";

/** Options of a subnet. */
export interface SubnetOptions {
  /** Input channels (all levels alike). */
  inChannels: number;
  /** Hidden channels. */
  filters: number;
  /** Hidden convolutions. */
  numConvs: number;
  /** Levels that get their own batch norms. */
  levels: readonly number[];
  /** Prediction channels. */
  outChannels: number;
  /** Initial prediction bias. */
  biasInit: number;
  /** Hidden activation. */
  activation: Activation;
  /** Batch-norm momentum. */
  bnMomentum: number;
  /** Batch-norm epsilon. */
  bnEpsilon: number;
}

/** Shared convolutions with per-level batch norm, then a prediction conv. */
export class Subnet extends Module {
  readonly #convs: Conv2d[] = [];
  readonly #norms = new Map<number, BatchNorm[]>();
  readonly #predict: Conv2d;
  readonly #activation: Activation;

  /** Builds the layers. */
  constructor(o: SubnetOptions) {
    super();
    for (let i = 0; i < o.numConvs; i++) {
      const inCh = i === 0 ? o.inChannels : o.filters;
      this.#convs.push(
        this.child(
          `conv${i}`,
          new Conv2d(inCh, o.filters, { kernel: 3, bias: true, std: 0.01 }),
        ),
      );
    }
    for (const level of o.levels) {
      const norms: BatchNorm[] = [];
      for (let i = 0; i < o.numConvs; i++) {
        norms.push(
          this.child(
            `bn${i}_p${level}`,
            new BatchNorm(o.filters, {
              momentum: o.bnMomentum,
              epsilon: o.bnEpsilon,
            }),
          ),
        );
      }
      this.#norms.set(level, norms);
    }
    const predIn = o.numConvs > 0 ? o.filters : o.inChannels;
    this.#predict = this.child(
      "predict",
      new Conv2d(predIn, o.outChannels, {
        kernel: 3,
        bias: true,
        biasInit: o.biasInit,
        std: 1e-5,
      }),
    );
    this.#activation = o.activation;
  }

  /** Applies the subnet to one level's features. */
  apply(x: tf.Tensor4D, level: number, ctx: ForwardContext): tf.Tensor4D {
    const norms = this.#norms.get(level);
    if (!norms) {
      throw new Error(`retinanet/subnet: no batch norms for level ${level}`);
    }
    let h = x;
    for (let i = 0; i < this.#convs.length; i++) {
      h = activate(
        norms[i].apply(this.#convs[i].apply(h), ctx),
        this.#activation,
      ) as tf.Tensor4D;
    }
    return this.#predict.apply(h);
  }
}
