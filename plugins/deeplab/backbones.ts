/**
 * Backbones for DeepLabv3+: each outputs level 2 (stride 4, the decoder's
 * skip feature) and its deepest feature at the output stride (level 4 at
 * 16, level 3 at 8).
 *
 * - `convnet-seg`: the CPU preset, stages of (3×3 stride-2 conv, 3×3 conv)
 *   doubling width; stages past the output stride run at stride 1 with
 *   dilation 2, 4 (a dilated backbone, not a published size).
 * - `efficientnet-seg`: EfficientNet-B0…B7 with its last stages dilated
 *   (`outputStride` of the EfficientNet backbone).
 * - `spinenet-seg`: SpineNet with its L2 stem output as level 2 and its P4
 *   (or P3) endpoint as the deep feature. SpineNet's permuted blocks have no
 *   natural dilated form, so its deep feature is the multi-scale fused
 *   endpoint, as the paper's NAS-FPN models fuse a pyramid.
 *
 * A user backbone works when its `outputChannels` include levels 2 and 4
 * (or 3); see `FeaturePyramid` in `core/contracts.ts`.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { Backbone, FeaturePyramid } from "../../core/contracts.ts";
import { type ForwardContext, Module } from "../../core/nn/module.ts";
import type { SpecOf } from "../../core/registry.ts";
import { ConvBn, type NormActConfig, normActFrom } from "../layers/conv_bn.ts";
import {
  EfficientNet,
  EFFICIENTNET_DEFAULTS,
  EFFICIENTNET_HELP,
  type EfficientNetConfig,
} from "../efficientnet/efficientnet.ts";
import {
  SpineNet,
  SPINENET_DEFAULTS,
  SPINENET_HELP,
  type SpineNetConfig,
} from "../spinenet/spinenet.ts";

/** Config of `convnet-seg` (norm settings are the model's shared ones). */
export interface ConvNetSegConfig {
  /** Channels of the first stage (doubling per stage). */
  width: number;
  /** Stages (5: strides 2 … 32 before dilation). */
  stages: number;
  /** 16 or 8. */
  outputStride: number;
}

/** Defaults of `convnet-seg`. */
export const CONVNET_SEG_DEFAULTS: Readonly<ConvNetSegConfig> = {
  width: 16,
  stages: 5,
  outputStride: 16,
};

/** A plain conv net whose last stages are dilated instead of strided. */
export class ConvNetSeg extends Module implements Backbone {
  /** Channels of levels 2 and the output-stride level. */
  readonly outputChannels: Readonly<Record<number, number>>;
  /** Dilation rate of each stage's convs (1 for strided stages). */
  readonly rates: readonly number[];
  readonly #stages: [ConvBn, ConvBn][] = [];
  readonly #high: number;

  /** Builds the net. */
  constructor(c: Readonly<ConvNetSegConfig>, norm: Readonly<NormActConfig>) {
    super();
    if (c.outputStride !== 16 && c.outputStride !== 8) {
      throw new Error(
        `convnet-seg: outputStride must be 16 or 8, got ${c.outputStride}`,
      );
    }
    this.#high = Math.log2(c.outputStride);
    if (!(Number.isInteger(c.stages) && c.stages > this.#high)) {
      throw new Error(
        `convnet-seg: need more than ${this.#high} stages at output stride ${c.outputStride}, got ${c.stages}`,
      );
    }
    const rates: number[] = [];
    let cin = 3;
    for (let s = 0; s < c.stages; s++) {
      const cout = c.width * 2 ** s;
      const strided = s < this.#high;
      const rate = strided ? 1 : 2 ** (s - this.#high + 1);
      rates.push(rate);
      this.#stages.push([
        this.child(
          `stage${s + 1}_down`,
          new ConvBn(cin, cout, {
            kernel: 3,
            stride: strided ? 2 : 1,
            dilation: rate,
          }, norm),
        ),
        this.child(
          `stage${s + 1}_conv`,
          new ConvBn(cout, cout, { kernel: 3, dilation: rate }, norm),
        ),
      ]);
      cin = cout;
    }
    this.rates = rates;
    this.outputChannels = { 2: c.width * 2, [this.#high]: cin };
  }

  /** Level 2 and the deepest feature at the output stride. */
  apply(images: tf.Tensor4D, ctx: ForwardContext): FeaturePyramid {
    let x = images;
    const out: FeaturePyramid = {};
    this.#stages.forEach(([down, conv], i) => {
      x = conv.apply(down.apply(x, ctx), ctx);
      if (i === 1) out[2] = x;
    });
    out[this.#high] = x;
    return out;
  }
}

/** `convnet-seg` spec. */
export const convNetSegSpec: SpecOf<"backbone", Readonly<ConvNetSegConfig>> = {
  name: "convnet-seg",
  description:
    "plain conv net, last stages dilated, levels 2 and 4 (or 3) for DeepLabv3+ (CPU preset, not a published size)",
  defaults: CONVNET_SEG_DEFAULTS,
  help: {
    width: "channels of the first stage (doubling per stage)",
    stages: "stages (5: strides 2 ... 32 before dilation)",
    outputStride: "16 or 8 (set from model.outputStride by the recipes)",
  },
  create: (c, ctx) => new ConvNetSeg(c, normActFrom(ctx.shared, "relu")),
};

/** `efficientnet-seg` spec: EfficientNet at output stride 16 (C1–C4). */
export const efficientNetSegSpec: SpecOf<"backbone", EfficientNetConfig> = {
  name: "efficientnet-seg",
  description:
    "EfficientNet (variant b0-b7) with dilated last stages, levels 1-4 at output stride 16 (or 1-3 at 8)",
  defaults: { ...EFFICIENTNET_DEFAULTS, outputStride: 16 },
  help: EFFICIENTNET_HELP,
  create: (c, ctx) => {
    if (c.outputStride !== 16 && c.outputStride !== 8) {
      throw new Error(
        `efficientnet-seg: outputStride must be 16 or 8, got ${c.outputStride}`,
      );
    }
    return new EfficientNet(c, normActFrom(ctx.shared, "swish"));
  },
};

/** `spinenet-seg` spec: SpineNet with its stem as level 2. */
export const spineNetSegSpec: SpecOf<"backbone", SpineNetConfig> = {
  name: "spinenet-seg",
  description:
    "SpineNet (variant 49S/49/96/143/190/49XS/tiny) with its stride-4 stem as level 2, P3-P7",
  defaults: { ...SPINENET_DEFAULTS, variant: "49" },
  help: SPINENET_HELP,
  create: (c, ctx) => new SpineNet(c, normActFrom(ctx.shared, "relu"), true),
};
