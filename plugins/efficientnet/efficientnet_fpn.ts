/**
 * `efficientnet-fpn`: EfficientNet C3–C5 → FPN → P3–P7 (SPEC §6), the
 * RetinaNet backbone of the paper's EfficientNet-B7 study.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { Backbone, FeaturePyramid } from "../../core/contracts.ts";
import { type ForwardContext, Module } from "../../core/nn/module.ts";
import type { NormActConfig } from "../layers/conv_bn.ts";
import {
  EfficientNet,
  EFFICIENTNET_DEFAULTS,
  EFFICIENTNET_NORM,
  efficientNetBackboneParams,
  type EfficientNetConfig,
  planEfficientNet,
} from "./efficientnet.ts";
import { FPN, type FpnOptions, fpnParams } from "./fpn.ts";

/** EfficientNet config plus the FPN width. */
export interface EfficientNetFpnConfig extends EfficientNetConfig {
  /** Channels of P3–P7. */
  fpnFilters: number;
}

/** EfficientNet-B0 + 256-channel FPN. */
export const EFFICIENTNET_FPN_DEFAULTS: Readonly<EfficientNetFpnConfig> = {
  ...EFFICIENTNET_DEFAULTS,
  fpnFilters: 256,
};

function fpnOptions(
  channels: Readonly<Record<number, number>>,
  filters: number,
): FpnOptions {
  return {
    inputChannels: { 3: channels[3], 4: channels[4], 5: channels[5] },
    minLevel: 3,
    maxLevel: 7,
    filters,
  };
}

/** EfficientNet + FPN; outputs P3–P7. */
export class EfficientNetFpn extends Module implements Backbone {
  /** `fpnFilters` for levels 3–7. */
  readonly outputChannels: Readonly<Record<number, number>>;
  /** The feature extractor. */
  readonly backbone: EfficientNet;
  /** The decoder. */
  readonly fpn: FPN;

  /** Builds both parts. */
  constructor(
    config: Readonly<EfficientNetFpnConfig> = EFFICIENTNET_FPN_DEFAULTS,
    norm: Readonly<NormActConfig> = EFFICIENTNET_NORM,
  ) {
    super();
    const { fpnFilters, ...net } = config;
    this.backbone = this.child("backbone", new EfficientNet(net, norm));
    this.fpn = this.child(
      "fpn",
      new FPN(
        fpnOptions(this.backbone.outputChannels, fpnFilters),
        this.backbone.plan.norm,
      ),
    );
    this.outputChannels = this.fpn.outputChannels;
  }

  /** Runs EfficientNet then the FPN. */
  apply(images: tf.Tensor4D, ctx: ForwardContext): FeaturePyramid {
    return this.fpn.apply(this.backbone.apply(images, ctx), ctx);
  }
}

/** Trainable parameters of `efficientnet-fpn`, counted without building it. */
export function countEfficientNetFpnParams(
  config: Readonly<EfficientNetFpnConfig>,
): number {
  const { fpnFilters, ...net } = config;
  const plan = planEfficientNet(net);
  const channels = Object.fromEntries(
    plan.endpoints.map((e) => [e.level, e.channels]),
  );
  return efficientNetBackboneParams(plan) +
    fpnParams(fpnOptions(channels, fpnFilters));
}
