/**
 * EfficientNet B0–B7 backbones (levels 1–5), the `efficientnet-fpn`
 * backbone (EfficientNet + FPN, P3–P7) and the EfficientNet classifier.
 *
 * @module
 */
import { definePlugin, type Plugin, type SpecOf } from "../../core/registry.ts";
import { normActFrom } from "../layers/conv_bn.ts";
import {
  EfficientNet,
  EFFICIENTNET_DEFAULTS,
  EFFICIENTNET_HELP,
  type EfficientNetConfig,
} from "./efficientnet.ts";
import {
  EFFICIENTNET_FPN_DEFAULTS,
  EfficientNetFpn,
  type EfficientNetFpnConfig,
} from "./efficientnet_fpn.ts";
import { EFFICIENTNET_SCALING } from "./specs.ts";

export {
  EfficientNet,
  EFFICIENTNET_DEFAULTS,
  EFFICIENTNET_HELP,
  EFFICIENTNET_NORM,
  efficientNetBackboneParams,
  type EfficientNetConfig,
  type EfficientNetEndpoint,
  type EfficientNetPlan,
  planEfficientNet,
} from "./efficientnet.ts";
export {
  type ClassifierModel,
  countEfficientNetClassifierParams,
  createEfficientNetClassifier,
  EfficientNetClassifier,
  type EfficientNetClassifierOptions,
} from "./classifier.ts";
export {
  countEfficientNetFpnParams,
  EFFICIENTNET_FPN_DEFAULTS,
  EfficientNetFpn,
  type EfficientNetFpnConfig,
} from "./efficientnet_fpn.ts";
export { FPN, type FpnOptions, fpnParams } from "./fpn.ts";
export {
  MBConvBlock,
  mbconvParams,
  type MBConvPlan,
  SqueezeExcitation,
} from "./blocks.ts";
export {
  EFFICIENTNET_B0_STAGES,
  EFFICIENTNET_SCALING,
  type EfficientNetScaling,
  efficientNetScaling,
  type EfficientNetVariant,
  type MBConvStageSpec,
  roundFilters,
  roundRepeats,
} from "./specs.ts";

export type { NormActConfig } from "../layers/conv_bn.ts";
/** Bare EfficientNet-`variant` backbone spec (levels 1–5). */
export function efficientNetSpec(
  variant: string,
): SpecOf<"backbone", EfficientNetConfig> {
  return {
    name: `efficientnet-${variant}`,
    description: `EfficientNet-${variant.toUpperCase()} backbone, C1-C5`,
    defaults: { ...EFFICIENTNET_DEFAULTS, variant },
    help: EFFICIENTNET_HELP,
    create: (config, ctx) =>
      new EfficientNet(config, normActFrom(ctx.shared, "swish")),
  };
}

/** The `efficientnet-fpn` backbone spec (P3–P7; `variant` picks B0–B7). */
export const EFFICIENTNET_FPN_SPEC: SpecOf<
  "backbone",
  Readonly<EfficientNetFpnConfig>
> = {
  name: "efficientnet-fpn",
  description: "EfficientNet (variant b0-b7) + FPN, P3-P7",
  defaults: EFFICIENTNET_FPN_DEFAULTS,
  help: { ...EFFICIENTNET_HELP, fpnFilters: "channels of P3-P7" },
  create: (config, ctx) =>
    new EfficientNetFpn(config, normActFrom(ctx.shared, "swish")),
};

/** Registers `efficientnet-b0` … `efficientnet-b7` and `efficientnet-fpn`. */
const plugin: Plugin = definePlugin({
  name: "efficientnet",
  setup(registry) {
    for (const variant of Object.keys(EFFICIENTNET_SCALING)) {
      registry.register("backbone", efficientNetSpec(variant));
    }
    registry.register("backbone", EFFICIENTNET_FPN_SPEC);
  },
});
export default plugin;
