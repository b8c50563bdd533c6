/**
 * Augmentation plugin: registers the augmenters `flip`, `scale-jitter`,
 * `autoaugment`, `randaugment`, the levels `S1`–`S4` (SPEC §3) and, for
 * classification, `random-resized-crop`, and
 * re-exports the ops for direct use.
 *
 * ```ts
 * import { Registry } from "@selftrain/selftrain";
 * import augment from "@selftrain/selftrain/augment";
 * const aug = new Registry().use(augment).create("augmenter", "S4", { n: 2, m: 10 });
 * ```
 */
import type { Augmenter } from "../../core/contracts.ts";
import {
  definePlugin,
  type Plugin,
  type PluginSpec,
} from "../../core/registry.ts";
import { AutoAugment } from "./autoaugment.ts";
import { DEFAULT_FILTER } from "./boxes.ts";
import {
  buildLevel,
  constantsWith,
  filterOf,
  Flip,
  type LevelConfig,
  levelDefaults,
  type LevelName,
} from "./levels.ts";
import { AA_CONSTANTS, RA_CONSTANTS } from "./ops.ts";
import { RandAugment } from "./randaugment.ts";
import {
  RandomResizedCrop,
  resizedCropDefaults,
  type ResizedCropOptions,
} from "./resized_crop.ts";
import { ScaleJitter } from "./scale_jitter.ts";

export * from "./affine.ts";
export * from "./autoaugment.ts";
export * from "./boxes.ts";
export * from "./color.ts";
export * from "./cutout.ts";
export * from "./bbox_only.ts";
export * from "./geometric.ts";
export * from "./levels.ts";
export * from "./ops.ts";
export * from "./randaugment.ts";
export * from "./resized_crop.ts";
export * from "./scale_jitter.ts";

/** `flip`: horizontal flip with probability `prob`. */
export const flipSpec: PluginSpec<{ prob: number }, Augmenter> = {
  name: "flip",
  description: "horizontal flip of image, boxes and mask (prob)",
  defaults: { prob: 0.5 },
  create: (c) => new Flip(c.prob),
};

/** Config of `scale-jitter`. */
export type ScaleJitterConfig = {
  outputSize: number;
  jitterMin: number;
  jitterMax: number;
  padValue: number;
  minBoxArea: number;
  minBoxFraction: number;
};

/** `scale-jitter`: random resize by a factor of the output size + crop/pad. */
export const scaleJitterSpec: PluginSpec<ScaleJitterConfig, Augmenter> = {
  name: "scale-jitter",
  description:
    "scale jitter + random crop / pad to the output size (Model Garden)",
  defaults: {
    outputSize: 0,
    jitterMin: 0.8,
    jitterMax: 1.2,
    padValue: 0,
    minBoxArea: DEFAULT_FILTER.minArea,
    minBoxFraction: DEFAULT_FILTER.minFraction,
  },
  create: (c) =>
    new ScaleJitter({
      ...c,
      filter: filterOf(c),
    }),
};

/** `autoaugment`: detection policy v0–v3. */
export const autoAugmentSpec: PluginSpec<
  {
    policy: string;
    minBoxArea: number;
    minBoxFraction: number;
    refSize: number;
  },
  Augmenter
> = {
  name: "autoaugment",
  description: "AutoAugment detection policy (policy: v0, v1, v2, v3)",
  defaults: {
    policy: "v0",
    minBoxArea: DEFAULT_FILTER.minArea,
    minBoxFraction: DEFAULT_FILTER.minFraction,
    refSize: 0,
  },
  create: (c) =>
    new AutoAugment(
      c.policy,
      constantsWith(AA_CONSTANTS, filterOf(c), c.refSize),
    ),
};

/** `randaugment`: N layers at magnitude M, box- and mask-aware. */
export const randAugmentSpec: PluginSpec<
  {
    n: number;
    m: number;
    minBoxArea: number;
    minBoxFraction: number;
    refSize: number;
  },
  Augmenter
> = {
  name: "randaugment",
  description: "RandAugment, n layers at magnitude m (box- and mask-aware)",
  defaults: {
    n: 2,
    m: 10,
    minBoxArea: DEFAULT_FILTER.minArea,
    minBoxFraction: DEFAULT_FILTER.minFraction,
    refSize: 0,
  },
  create: (c) =>
    new RandAugment(
      c.n,
      c.m,
      constantsWith(RA_CONSTANTS, filterOf(c), c.refSize),
    ),
};

/** `random-resized-crop`: torchvision's crop (scale, ratio) + flip, classification only. */
export const resizedCropSpec: PluginSpec<ResizedCropOptions, Augmenter> = {
  name: "random-resized-crop",
  description:
    "random resized crop (area scaleMin-scaleMax, aspect ratioMin-ratioMax) + flip, for classification",
  defaults: resizedCropDefaults(224),
  create: (c) => new RandomResizedCrop(c),
};

const LEVEL_TEXT: Record<LevelName, string> = {
  S1: "flip + scale jitter 0.8–1.2 + crop",
  S2: "AutoAugment v0 + flip + scale jitter 0.8–1.2 + crop",
  S3: "AutoAugment v0 + flip + scale jitter 0.5–2.0 + crop",
  S4: "RandAugment N=2 M=10 + flip + scale jitter 0.5–2.0 + crop",
};

/** `S1`…`S4`: the augmentation levels of the paper. */
export function levelSpec(
  level: LevelName,
): PluginSpec<LevelConfig, Augmenter> {
  return {
    name: level,
    description: `augmentation level ${level}: ${LEVEL_TEXT[level]}`,
    defaults: levelDefaults(level),
    create: (c) => buildLevel(level, c),
  };
}

/** The augmentation plugin. */
const plugin: Plugin = definePlugin({
  name: "augment",
  setup(registry) {
    registry.register("augmenter", flipSpec);
    registry.register("augmenter", scaleJitterSpec);
    registry.register("augmenter", autoAugmentSpec);
    registry.register("augmenter", randAugmentSpec);
    registry.register("augmenter", resizedCropSpec);
    for (const level of ["S1", "S2", "S3", "S4"] as const) {
      registry.register("augmenter", levelSpec(level));
    }
  },
});

export default plugin;
