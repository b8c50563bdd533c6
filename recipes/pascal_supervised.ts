/**
 * `pascal-supervised`: DeepLabv3+ trained on human masks only (the
 * supervised baseline, and the teacher of `pascal-selftrain`). Evaluates
 * mIoU, per-class IoU and pixel accuracy on val and on tune (when the data
 * has it, keys `tune/...`); writes `train/metrics.json`,
 * checkpoints and mask overlays under `--out`.
 */
import { runPhase } from "./phase.ts";
import type { Recipe } from "../core/registry.ts";
import { writeClassNames } from "./detection.ts";
import { trainPhase } from "./train_phase.ts";
import { prepareInit } from "./backbone_init.ts";
import {
  buildSegmenter,
  CPU_SEGMENTER,
  createSegAugmenter,
  evaluateSegSplits,
  loadSegData,
  SEG_COMMON_CHOICES,
  SEG_DATA_DEFAULTS,
  SEG_DATA_HELP,
  SEG_MODEL_HELP,
  type SegDataSection,
  type SegModelSection,
} from "./segmentation.ts";
import {
  prefixKeys,
  TRAIN_CHOICES,
  TRAIN_HELP,
  type TrainSection,
} from "./train_config.ts";
import { MODEL_PLUGINS } from "./model_config.ts";

/** Config of `pascal-supervised`. */
export interface PascalSupervisedConfig {
  [key: string]:
    | string
    | number
    | SegDataSection
    | SegModelSection
    | TrainSection;
  /** Seed of data order, init and augmentation. */
  seed: number;
  /** Augmentation level (S1–S4, PASCAL jitter from data.*) or plugin. */
  augment: string;
  /** Data. */
  data: SegDataSection;
  /** Model. */
  model: SegModelSection;
  /** Training. */
  train: TrainSection;
}

/**
 * Training defaults of the CPU segmenter: 1600 steps of 8 images (at 400
 * steps the teacher had 25.2 tune mIoU on the built-in set, at 1600 37.1;
 * docs/selftraining.md).
 */
export const CPU_SEG_TRAIN: TrainSection = {
  steps: 1600,
  batchSize: 8,
  optimizer: "sgd",
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 4e-5,
  schedule: "cosine",
  warmupSteps: 20,
  clipNorm: 10,
  emaDecay: 0,
  checkpointEvery: 400,
};

/** Help of the keys both segmentation recipes share. */
export const SEG_COMMON_HELP: Readonly<Record<string, string>> = {
  seed: "seed of data order, label fraction, weight init and augmentation",
  ...prefixKeys("data", SEG_DATA_HELP),
  ...prefixKeys("model", SEG_MODEL_HELP),
};

/** The recipe. */
export const pascalSupervisedRecipe: Recipe<PascalSupervisedConfig> = {
  name: "pascal-supervised",
  description:
    "DeepLabv3+ on human masks only (PASCAL VOC layout; built-in shapes by default)",
  defaults: {
    seed: 0,
    augment: "S1",
    data: SEG_DATA_DEFAULTS,
    model: CPU_SEGMENTER,
    train: CPU_SEG_TRAIN,
  },
  help: {
    ...SEG_COMMON_HELP,
    augment:
      "augmentation: S1..S4 (with data.jitterMin/Max and crop) or a plugin",
    ...prefixKeys("train", TRAIN_HELP),
  },
  choices: {
    ...prefixKeys("train", TRAIN_CHOICES),
    ...SEG_COMMON_CHOICES,
  },
  plugins: MODEL_PLUGINS,
  async run(ctx) {
    const { config: c, registry, out } = ctx;
    const splits = await loadSegData(registry, c.data, c.seed);
    await writeClassNames(out, splits.train.classNames);
    const init = await prepareInit(registry, c.model, out, ctx.events);
    const model = await init.apply(buildSegmenter(
      registry,
      c.model,
      splits.train.classNames.length,
      c.data.inputSize,
      c.seed,
      init.record.overrides,
    ));
    const phase = await runPhase(out, "train", ctx.events, async (dir) => {
      await trainPhase(ctx, "train", model, c.train, {
        dir,
        augment: createSegAugmenter(registry, c.augment, c.data),
        data: splits.train,
      });
      return await evaluateSegSplits(
        model,
        splits,
        `${out}/samples`,
        "train",
        ctx.events,
      );
    }, { total: c.train.steps, unit: "steps" });
    model.dispose();
    return {
      recipe: "pascal-supervised",
      seed: c.seed,
      backend: ctx.backend.name,
      init: init.record,
      metrics: phase.metrics,
    };
  },
};
