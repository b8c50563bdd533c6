/**
 * EfficientNet image classifier: backbone → 1×1 top conv + BN + act →
 * global average pool → dropout → dense logits. Parameter set and count match
 * Keras `EfficientNetB*` (B0 at 1000 classes: 5,288,548 trainable).
 */
import type * as tf from "@tensorflow/tfjs-core";
import { type ForwardContext, Module } from "../../core/nn/module.ts";
import { Dense } from "../../core/nn/layers.ts";
import {
  ConvBn,
  convBnParams,
  convParams,
  type NormActConfig,
} from "../layers/conv_bn.ts";
import { dropout, globalAvgPool } from "../layers/ops.ts";
import {
  EfficientNet,
  EFFICIENTNET_DEFAULTS,
  EFFICIENTNET_NORM,
  efficientNetBackboneParams,
  type EfficientNetConfig,
  planEfficientNet,
} from "./efficientnet.ts";
import { efficientNetScaling } from "./specs.ts";

/** A model mapping `[N, H, W, 3]` images to `[N, classes]` logits. */
export interface ClassifierModel extends Module {
  /** Number of output classes. */
  readonly numClasses: number;
  /** Native input size `[height, width]`. */
  readonly inputSize: readonly [number, number];
  /** Returns logits. */
  apply(images: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D;
}

/** Options of `EfficientNetClassifier`. */
export interface EfficientNetClassifierOptions {
  /** Number of classes (default 1000). */
  numClasses?: number;
  /** Dropout before the dense layer (default: the variant's, 0.2–0.5). */
  dropout?: number;
  /** Norm settings (default `EFFICIENTNET_NORM`). */
  norm?: Readonly<NormActConfig>;
}

/** EfficientNet with its classification head. */
export class EfficientNetClassifier extends Module implements ClassifierModel {
  /** Number of classes. */
  readonly numClasses: number;
  /** The variant's native resolution. */
  readonly inputSize: readonly [number, number];
  /** The feature extractor (shared with detection). */
  readonly backbone: EfficientNet;
  readonly #top: ConvBn;
  readonly #fc: Dense;
  readonly #dropout: number;

  /** Builds backbone and head. */
  constructor(
    config: Readonly<EfficientNetConfig> = EFFICIENTNET_DEFAULTS,
    opts: EfficientNetClassifierOptions = {},
  ) {
    super();
    const numClasses = opts.numClasses ?? 1000;
    if (!(Number.isInteger(numClasses) && numClasses >= 1)) {
      throw new Error(
        `plugins/efficientnet: numClasses must be a positive integer, got ${numClasses}`,
      );
    }
    const scaling = efficientNetScaling(config.variant);
    this.numClasses = numClasses;
    this.inputSize = [scaling.resolution, scaling.resolution];
    this.#dropout = opts.dropout ?? scaling.dropout;
    this.backbone = this.child(
      "backbone",
      new EfficientNet(config, opts.norm ?? EFFICIENTNET_NORM),
    );
    const { plan } = this.backbone;
    const last = plan.blocks[plan.blocks.length - 1].outChannels;
    this.#top = this.child(
      "top",
      new ConvBn(last, plan.topFilters, { kernel: 1 }, plan.norm),
    );
    this.#fc = this.child("fc", new Dense(plan.topFilters, numClasses));
  }

  /** Returns `[N, numClasses]` logits. */
  apply(images: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D {
    const feats = this.backbone.apply(images, ctx);
    const c5 = feats[Math.max(...Object.keys(feats).map(Number))];
    const pooled = globalAvgPool(this.#top.apply(c5, ctx));
    const seed = ctx.training ? ctx.rng?.nextUint32() : undefined;
    return this.#fc.apply(dropout(pooled, this.#dropout, ctx.training, seed));
  }
}

/**
 * Trainable parameters of the classifier, counted without building it
 * (conv kernels, SE / dense biases, BN gamma and beta: Keras's
 * `trainable_params`; BN moving statistics are buffers, not counted).
 */
export function countEfficientNetClassifierParams(
  config: Readonly<EfficientNetConfig>,
  numClasses = 1000,
): number {
  const plan = planEfficientNet(config);
  const last = plan.blocks[plan.blocks.length - 1].outChannels;
  return efficientNetBackboneParams(plan) +
    convBnParams(1, last, plan.topFilters) +
    convParams(1, plan.topFilters, numClasses, true);
}

/** Builds EfficientNet-`variant` (b0–b7) as a classifier with defaults. */
export function createEfficientNetClassifier(
  variant = "b0",
  numClasses = 1000,
): EfficientNetClassifier {
  return new EfficientNetClassifier(
    { ...EFFICIENTNET_DEFAULTS, variant },
    { numClasses },
  );
}
