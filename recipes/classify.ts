/**
 * `classify`: supervised classification on generated shapes (or any
 * classification dataset plugin). The smallest complete pipeline: registry
 * → data → trainer → checkpoint → evaluation.
 */
import { TaskModel } from "../core/model.ts";
import { withInitSeed } from "../core/nn/layers.ts";
import { runPhase } from "./phase.ts";
import type { Recipe } from "../core/registry.ts";
import type { Dataset } from "../core/types.ts";
import { trainPhase } from "./train_phase.ts";
import { topKAccuracy } from "./classification_eval.ts";
import {
  prefixKeys,
  TRAIN_CHOICES,
  TRAIN_HELP,
  type TrainSection,
} from "./train_config.ts";
import {
  ACTIVATION_CHOICES,
  CPU_SHARED,
  type ModelBase,
  SHARED_HELP,
  sharedSettings,
} from "./model_config.ts";

/** Config of `classify`. */
export interface ClassifyConfig extends ModelBase {
  /** Seed of data order, init and augmentation. */
  seed: number;
  /** Dataset plugin name. */
  dataset: string;
  /** Training section. */
  train: TrainSection;
}

/** Top-1 accuracy of `model` on `data`. */
export async function accuracy(
  model: TaskModel,
  data: Dataset,
  batchSize = 64,
): Promise<number> {
  return (await topKAccuracy(model, data, [1], batchSize))[0];
}

/** The recipe. */
export const classifyRecipe: Recipe<ClassifyConfig> = {
  name: "classify",
  description:
    "supervised classifier (tiny-convnet on generated shapes by default)",
  defaults: {
    seed: 0,
    dataset: "synthetic-classes",
    backbone: "tiny-convnet",
    ...CPU_SHARED,
    train: {
      steps: 300,
      batchSize: 32,
      optimizer: "sgd",
      lr: 0.1,
      momentum: 0.9,
      weightDecay: 1e-4,
      schedule: "cosine",
      warmupSteps: 20,
      clipNorm: 10,
      emaDecay: 0,
      checkpointEvery: 100,
    },
  },
  help: {
    seed: "seed of data order, weight init and augmentation",
    dataset: "dataset plugin (classification samples)",
    backbone: "backbone plugin; its own keys are backboneConfig.*",
    ...SHARED_HELP,
    ...prefixKeys("train", TRAIN_HELP),
  },
  choices: {
    ...prefixKeys("train", TRAIN_CHOICES),
    activation: ACTIVATION_CHOICES,
  },
  plugins: { backbone: "backbone" },
  async run(ctx) {
    const { config, registry, events, out } = ctx;
    const data = await registry.create("dataset", config.dataset, {
      seed: config.seed,
    });
    const shared = sharedSettings(config);
    const model = withInitSeed(config.seed, () => {
      const backbone = registry.create(
        "backbone",
        config.backbone,
        config.backboneConfig,
        { shared },
      );
      const head = registry.create("head", "classification", {}, {
        channels: backbone.outputChannels,
        numClasses: data.train.classNames.length,
        inputSize: [0, 0],
        shared,
      });
      return new TaskModel(
        backbone,
        head,
        registry.create("loss", "softmax-ce"),
      );
    });
    const t = config.train;
    const phase = await runPhase(out, "train", events, async (dir) => {
      await trainPhase(ctx, "train", model, t, { dir, data: data.train });
      return {
        accuracy: await accuracy(model, data.val),
        params: model.countParameters(),
      };
    }, { total: t.steps, unit: "steps" });
    model.dispose();
    return {
      recipe: "classify",
      seed: config.seed,
      backend: ctx.backend.name,
      metrics: phase.metrics,
    };
  },
};
