/**
 * `convnet-fpn`: a plain stride-2 conv net (the classifier plugin's
 * `TinyConvNet`, five stages) under an FPN producing P3–P7. A CPU preset for
 * small images: unlike SpineNet at 128 px, no block runs batch norm on 1×1
 * or 2×2 maps, which makes from-scratch training on a CPU budget stable.
 * Not a published architecture.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { Backbone, FeaturePyramid } from "../../core/contracts.ts";
import { type ForwardContext, Module } from "../../core/nn/module.ts";
import { definePlugin, type Plugin } from "../../core/registry.ts";
import { TinyConvNet } from "../classifier/convnet.ts";
import { FPN } from "../efficientnet/fpn.ts";
import {
  DEFAULT_NORM_ACT,
  type NormActConfig,
  normActFrom,
} from "../layers/conv_bn.ts";

/** Config of `convnet-fpn` (norm settings are the model's shared ones). */
export interface ConvNetFpnConfig {
  /** Channels of the first stage (doubling per stage). */
  width: number;
  /** FPN channels. */
  fpnFilters: number;
}

/** Defaults of `convnet-fpn`. */
export const CONVNET_FPN_DEFAULTS: Readonly<ConvNetFpnConfig> = {
  width: 16,
  fpnFilters: 64,
};

/** The backbone: five conv stages (C1–C5), FPN on C3–C5 → P3–P7. */
export class ConvNetFpn extends Module implements Backbone {
  /** Channels of P3–P7. */
  readonly outputChannels: Readonly<Record<number, number>>;
  readonly #body: TinyConvNet;
  readonly #fpn: FPN;

  /** Builds the backbone (norm: relu, momentum 0.9 unless given). */
  constructor(
    c: Readonly<ConvNetFpnConfig> = CONVNET_FPN_DEFAULTS,
    norm: Readonly<NormActConfig> = { ...DEFAULT_NORM_ACT, bnMomentum: 0.9 },
  ) {
    super();
    this.#body = this.child(
      "body",
      new TinyConvNet({ width: c.width, stages: 5, ...norm }),
    );
    const ch = this.#body.outputChannels;
    this.#fpn = this.child(
      "fpn",
      new FPN({
        inputChannels: { 3: ch[3], 4: ch[4], 5: ch[5] },
        filters: c.fpnFilters,
      }, norm),
    );
    this.outputChannels = this.#fpn.outputChannels;
  }

  /** P3–P7. */
  apply(images: tf.Tensor4D, ctx: ForwardContext): FeaturePyramid {
    const c = this.#body.apply(images, ctx);
    return this.#fpn.apply({ 3: c[3], 4: c[4], 5: c[5] }, ctx);
  }
}

/** Registers `convnet-fpn`. */
const plugin: Plugin = definePlugin({
  name: "convnet-fpn",
  setup(registry) {
    registry.register("backbone", {
      name: "convnet-fpn",
      description:
        "plain 5-stage conv net + FPN, P3-P7 (CPU preset, not a published size)",
      defaults: CONVNET_FPN_DEFAULTS,
      help: {
        width: "channels of the first stage (doubling per stage)",
        fpnFilters: "channels of P3-P7",
      },
      create: (c, ctx) => new ConvNetFpn(c, normActFrom(ctx.shared, "relu")),
    });
  },
});
export default plugin;
