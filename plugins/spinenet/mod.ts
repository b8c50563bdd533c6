/**
 * SpineNet backbones for RetinaNet: the published SpineNet-49S / 49 / 96 /
 * 143 / 190 and two CPU presets with the same permutation and fewer
 * channels (`spinenet-49xs`, `spinenet-tiny`). Each is registered as a
 * backbone whose config sets the variant, drop-connect and an optional
 * endpoint-width override; batch norm and activation come from the model's
 * shared settings (activation `auto` = relu).
 *
 * @module
 */
import { definePlugin, type Plugin, type SpecOf } from "../../core/registry.ts";
import { normActFrom } from "../layers/conv_bn.ts";
import {
  SpineNet,
  SPINENET_DEFAULTS,
  SPINENET_HELP,
  type SpineNetConfig,
} from "./spinenet.ts";
import type { SpineNetVariant } from "./specs.ts";

export {
  countSpineNetParams,
  resolveSpineNet,
  SpineNet,
  SPINENET_DEFAULTS,
  SPINENET_HELP,
  type SpineNetConfig,
} from "./spinenet.ts";
export {
  FILTER_SIZE_MAP,
  type SpineBlockFn,
  type SpineBlockSpec,
  SPINENET_BLOCK_SPECS,
  SPINENET_SCALING,
  type SpineNetCpuVariant,
  type SpineNetPublishedVariant,
  type SpineNetScaling,
  spineNetScaling,
  type SpineNetVariant,
} from "./specs.ts";
export {
  planParams,
  planSpineNet,
  type SpineEndpointPlan,
  type SpineNetPlan,
  type SpineNetPlanOptions,
  type SpineNodePlan,
} from "./plan.ts";
export { BlockGroup, type BlockGroupPlan, SpineBlock } from "./blocks.ts";
export { Resample, type ResamplePlan } from "./resample.ts";

export type { NormActConfig } from "../layers/conv_bn.ts";
/** Registered name → variant. */
export const SPINENET_BACKBONES: Readonly<Record<string, SpineNetVariant>> = {
  "spinenet-49s": "49S",
  "spinenet-49": "49",
  "spinenet-96": "96",
  "spinenet-143": "143",
  "spinenet-190": "190",
  "spinenet-49xs": "49XS",
  "spinenet-tiny": "tiny",
};

/** The backbone spec registered under `name` for `variant`. */
export function spineNetSpec(
  name: string,
  variant: SpineNetVariant,
): SpecOf<"backbone", SpineNetConfig> {
  const cpu = variant === "tiny" || variant === "49XS";
  return {
    name,
    description: `SpineNet-${variant} backbone, P3-P7${
      cpu ? " (CPU preset, not a published size)" : ""
    }`,
    defaults: { ...SPINENET_DEFAULTS, variant },
    help: SPINENET_HELP,
    create: (config, ctx) =>
      new SpineNet(config, normActFrom(ctx.shared, "relu")),
  };
}

/** Registers every SpineNet backbone. */
const plugin: Plugin = definePlugin({
  name: "spinenet",
  setup(registry) {
    for (const [name, variant] of Object.entries(SPINENET_BACKBONES)) {
      registry.register("backbone", spineNetSpec(name, variant));
    }
  },
});
export default plugin;
