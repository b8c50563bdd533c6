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
import type { Recipe } from "../core/registry.ts";
import { RandomResizedCrop } from "../plugins/augment/resized_crop.ts";
import {
  ClassificationHead,
  type PoolMode,
  SoftmaxCrossEntropy,
} from "../plugins/classifier/head.ts";
import {
  CLASSIFICATION_DATA_DEFAULTS,
  PRETRAIN_MODEL_DEFAULTS,
} from "./pretraining.ts";
import { topKAccuracy } from "./classification_eval.ts";
import { prefixKeys } from "./train_config.ts";
import { type PretrainConfigBase, pretrainRecipe } from "./pretrain_recipe.ts";

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
export interface PretrainSupervisedConfig extends PretrainConfigBase {
  /** Augmentation. */
  aug: CropSection;
  /** Loss. */
  loss: { labelSmoothing: number };
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
export const pretrainSupervisedRecipe: Recipe<PretrainSupervisedConfig> =
  pretrainRecipe({
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
      ...prefixKeys("aug", CROP_HELP),
      "loss.labelSmoothing": "label smoothing of the cross-entropy",
    },
    method: (c, data) => {
      const classes = data.train.classNames;
      return {
        build: (backbone) =>
          new TaskModel(
            backbone,
            new ClassificationHead({
              channels: backbone.outputChannels,
              numClasses: classes.length,
              inputSize: [c.data.inputSize, c.data.inputSize],
            }, c.model.pool as PoolMode),
            new SoftmaxCrossEntropy(c.loss.labelSmoothing),
          ),
        inputs: {
          augment: new RandomResizedCrop({
            outputSize: c.data.inputSize,
            ...c.aug,
          }),
        },
        score: async (model) => {
          const tune = await topKAccuracy(model, data.tune);
          return { tune, val: await topKAccuracy(model, data.val) };
        },
        head: (model) => ({ module: model.head, classes }),
      };
    },
  });
