/**
 * `pretrain-supervised`: supervised classification pre-training of a
 * backbone, the role ImageNet pre-training plays in the paper (SPEC §10).
 * Any registered backbone plus the classification head (global pool +
 * dense, softmax cross-entropy), trained with random resized crops and
 * flips; reports top-1 and top-5 on tune (where settings are chosen) and
 * val (reported), and writes `<out>/backbone/`: the backbone's variables
 * under their own names and the head under `head.*` with the class names,
 * for `--model.init=<out>/backbone` in the detection recipes.
 */
import { TaskModel } from "../core/model.ts";
import { withInitSeed } from "../core/nn/layers.ts";
import { runPhase } from "./phase.ts";
import type { Recipe } from "../core/registry.ts";
import { trainPhase } from "./train_phase.ts";
import { RandomResizedCrop } from "../plugins/augment/resized_crop.ts";
import {
  ClassificationHead,
  type PoolMode,
  SoftmaxCrossEntropy,
} from "../plugins/classifier/head.ts";
import {
  buildBackbone,
  CLASSIFICATION_DATA_DEFAULTS,
  type ClassificationDataSection,
  loadClassificationData,
  PRETRAIN_COMMON_HELP,
  PRETRAIN_MODEL_CHOICES,
  PRETRAIN_MODEL_DEFAULTS,
  PRETRAIN_PLUGINS,
  type PretrainModelSection,
  writeBackbone,
} from "./pretraining.ts";
import { topKAccuracy } from "./classification_eval.ts";
import {
  ACCUMULATE_HELP,
  type AccumulatingTrainSection,
  prefixKeys,
  TRAIN_CHOICES,
  TRAIN_HELP,
} from "./train_config.ts";

/** `aug.*`: the random resized crop and flip. */
export interface CropSection {
  [key: string]: number;
  /** Smallest crop area fraction. */
  scaleMin: number;
  /** Largest crop area fraction. */
  scaleMax: number;
  /** Smallest aspect ratio. */
  ratioMin: number;
  /** Largest aspect ratio. */
  ratioMax: number;
  /** Flip probability. */
  flip: number;
}

/** Config of `pretrain-supervised`. */
export interface PretrainSupervisedConfig {
  [key: string]:
    | number
    | ClassificationDataSection
    | CropSection
    | PretrainModelSection
    | AccumulatingTrainSection
    | { labelSmoothing: number };
  /** Seed of data order, init and augmentation. */
  seed: number;
  /** Data. */
  data: ClassificationDataSection;
  /** Augmentation. */
  aug: CropSection;
  /** Backbone. */
  model: PretrainModelSection;
  /** Loss. */
  loss: { labelSmoothing: number };
  /** Training. */
  train: AccumulatingTrainSection;
}

/** Defaults: torchvision's crop (0.08–1, 3/4–4/3) and flip. */
export const CROP_DEFAULTS: CropSection = {
  scaleMin: 0.08,
  scaleMax: 1,
  ratioMin: 3 / 4,
  ratioMax: 4 / 3,
  flip: 0.5,
};

const CROP_HELP: Readonly<Record<string, string>> = {
  scaleMin: "random resized crop: smallest area fraction (torchvision 0.08)",
  scaleMax: "random resized crop: largest area fraction",
  ratioMin: "random resized crop: smallest aspect ratio w/h (3/4)",
  ratioMax: "random resized crop: largest aspect ratio w/h (4/3)",
  flip: "horizontal flip probability",
};

/** The recipe. */
export const pretrainSupervisedRecipe: Recipe<PretrainSupervisedConfig> = {
  name: "pretrain-supervised",
  description:
    "supervised classification pre-training of a backbone (built-in synthetic-objects or an image folder); writes <out>/backbone for --model.init",
  defaults: {
    seed: 0,
    data: CLASSIFICATION_DATA_DEFAULTS,
    aug: CROP_DEFAULTS,
    model: PRETRAIN_MODEL_DEFAULTS,
    loss: { labelSmoothing: 0.1 },
    train: {
      steps: 2000,
      batchSize: 64,
      optimizer: "sgd",
      lr: 0.2,
      momentum: 0.9,
      weightDecay: 5e-5,
      schedule: "cosine",
      warmupSteps: 100,
      clipNorm: 10,
      emaDecay: 0,
      checkpointEvery: 200,
      accumulate: 1,
    },
  },
  help: {
    ...PRETRAIN_COMMON_HELP,
    ...prefixKeys("aug", CROP_HELP),
    "loss.labelSmoothing": "label smoothing of the cross-entropy",
    ...prefixKeys("train", { ...TRAIN_HELP, ...ACCUMULATE_HELP }),
  },
  choices: {
    ...prefixKeys("train", TRAIN_CHOICES),
    ...PRETRAIN_MODEL_CHOICES,
    "data.source": ["auto", "synthetic", "folder"],
  },
  plugins: PRETRAIN_PLUGINS,
  async run(ctx) {
    const { config: c, registry, events, out } = ctx;
    const data = await loadClassificationData(registry, c.data);
    const classes = data.train.classNames;
    const augment = new RandomResizedCrop({
      outputSize: c.data.inputSize,
      ...c.aug,
    });
    const { model, backboneConfig } = withInitSeed(c.seed, () => {
      const { backbone, config } = buildBackbone(registry, c.model);
      const head = new ClassificationHead({
        channels: backbone.outputChannels,
        numClasses: classes.length,
        inputSize: [c.data.inputSize, c.data.inputSize],
      }, c.model.pool as PoolMode);
      return {
        model: new TaskModel(
          backbone,
          head,
          new SoftmaxCrossEntropy(c.loss.labelSmoothing),
        ),
        backboneConfig: config,
      };
    });
    const t = c.train;
    const phase = await runPhase(out, "train", events, async (dir) => {
      await trainPhase(ctx, "train", model, t, {
        dir,
        data: data.train,
        augment,
      });
      const [tune1, tune5] = await topKAccuracy(model, data.tune);
      const [val1, val5] = await topKAccuracy(model, data.val);
      const metrics = {
        top1: val1,
        top5: val5,
        "tune/top1": tune1,
        "tune/top5": tune5,
        params: model.backbone.countParameters(),
      };
      events.emit({ type: "eval", phase: "train", step: t.steps, metrics });
      await writeBackbone(
        out,
        c.model,
        { module: model.backbone, config: backboneConfig },
        c.data.inputSize,
        {
          recipe: "pretrain-supervised",
          dataset: data.name,
          steps: t.steps,
          batch: t.batchSize * t.accumulate,
          seed: c.seed,
          metrics,
        },
        { module: model.head, classes },
      );
      return metrics;
    }, { total: t.steps, unit: "steps" });
    model.dispose();
    return {
      recipe: "pretrain-supervised",
      seed: c.seed,
      backend: ctx.backend.name,
      backbone: `${out}/backbone`,
      metrics: phase.metrics,
    };
  },
};
