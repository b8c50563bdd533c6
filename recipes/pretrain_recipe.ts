/**
 * The frame both pre-training recipes share (`pretrain-supervised`,
 * `pretrain-simclr`): the `seed`, `data.*`, `model.*` and `train.*` keys'
 * help and choices, and the run: load the classification data, build the
 * backbone and the recipe's head under the init seed, train one phase
 * `train`, score top-1 / top-5 on tune and val, and write
 * `<out>/backbone`. A recipe adds its own sections, head and scoring.
 */
import type { ConfigShape } from "../core/config.ts";
import type { Backbone } from "../core/contracts.ts";
import { withInitSeed } from "../core/nn/layers.ts";
import type { Module } from "../core/nn/module.ts";
import type { Recipe } from "../core/registry.ts";
import { runPhase } from "./phase.ts";
import {
  buildBackbone,
  type ClassificationDataSection,
  loadClassificationData,
  PRETRAIN_COMMON_HELP,
  PRETRAIN_MODEL_CHOICES,
  type PretrainModelSection,
  writeBackbone,
} from "./pretraining.ts";
import {
  ACCUMULATE_HELP,
  type AccumulatingTrainSection,
  prefixKeys,
  TRAIN_CHOICES,
  TRAIN_HELP,
} from "./train_config.ts";
import {
  type TrainableModel,
  trainPhase,
  type TrainPhaseInputs,
} from "./train_phase.ts";
import { MODEL_PLUGINS } from "./model_config.ts";

/** The keys every pre-training recipe has. */
export interface PretrainConfigBase {
  /** Seed of data order, init and augmentation. */
  seed: number;
  /** Data (a pre-training recipe may use the labels only to score). */
  data: ClassificationDataSection;
  /** Backbone. */
  model: PretrainModelSection;
  /** Training. */
  train: AccumulatingTrainSection;
}

/** Help of the `train.*` keys, gradient accumulation included. */
const PRETRAIN_TRAIN_HELP: Readonly<Record<string, string>> = prefixKeys(
  "train",
  { ...TRAIN_HELP, ...ACCUMULATE_HELP },
);

/** A model a pre-training recipe trains: the backbone and a head on it. */
export type PretrainedModel = TrainableModel & { readonly backbone: Backbone };

/** The classification splits of a pre-training run. */
export type ClassificationSplits = Awaited<
  ReturnType<typeof loadClassificationData>
>;

/** How one pre-training recipe trains and scores its model. */
export interface PretrainMethod<M extends PretrainedModel> {
  /** The model around `backbone` (called under the init seed). */
  build(backbone: Backbone): M;
  /** `trainPhase` inputs besides the folder and the train split. */
  inputs: Omit<TrainPhaseInputs, "dir" | "data">;
  /** `[top1, top5]` of the trained model on tune and on val. */
  score(model: M): Promise<{ tune: number[]; val: number[] }>;
  /** A head written with the backbone (under `head.*`), if any. */
  head?(model: M): { module: Module; classes: readonly string[] };
}

/** What a pre-training recipe adds to the frame. */
export interface PretrainRecipeSpec<
  C extends PretrainConfigBase & ConfigShape<C>,
  M extends PretrainedModel,
> {
  /** Recipe name. */
  name: string;
  /** One line for `--help`. */
  description: string;
  /** Every default (the shared sections' included, in the config's order). */
  defaults: C;
  /** Help of the recipe's own keys (and of train keys it explains its own way). */
  help: Readonly<Record<string, string>>;
  /** The recipe's method for a run (made before the model is built). */
  method(c: C, data: ClassificationSplits): PretrainMethod<M>;
}

/** A pre-training recipe from its own parts and the shared frame. */
export function pretrainRecipe<
  C extends PretrainConfigBase & ConfigShape<C>,
  M extends PretrainedModel,
>(spec: PretrainRecipeSpec<C, M>): Recipe<C> {
  return {
    name: spec.name,
    description: spec.description,
    defaults: spec.defaults,
    help: { ...PRETRAIN_COMMON_HELP, ...PRETRAIN_TRAIN_HELP, ...spec.help },
    choices: {
      ...prefixKeys("train", TRAIN_CHOICES),
      ...PRETRAIN_MODEL_CHOICES,
      "data.source": ["auto", "synthetic", "folder"],
    },
    plugins: MODEL_PLUGINS,
    async run(ctx) {
      const { config: c, registry, events, out } = ctx;
      const data = await loadClassificationData(registry, c.data);
      const method = spec.method(c, data);
      const { model, backboneConfig } = withInitSeed(c.seed, () => {
        const { backbone, config } = buildBackbone(registry, c.model);
        return { model: method.build(backbone), backboneConfig: config };
      });
      const t = c.train;
      const phase = await runPhase(out, "train", events, async (dir) => {
        await trainPhase(ctx, "train", model, t, {
          dir,
          data: data.train,
          ...method.inputs,
        });
        const { tune, val } = await method.score(model);
        const metrics = {
          top1: val[0],
          top5: val[1],
          "tune/top1": tune[0],
          "tune/top5": tune[1],
          params: model.backbone.countParameters(),
        };
        events.emit({ type: "eval", phase: "train", step: t.steps, metrics });
        await writeBackbone(
          out,
          c.model,
          { module: model.backbone, config: backboneConfig },
          c.data.inputSize,
          {
            recipe: spec.name,
            dataset: data.name,
            steps: t.steps,
            batch: t.batchSize * t.accumulate,
            seed: c.seed,
            metrics,
          },
          method.head?.(model),
        );
        return metrics;
      }, { total: t.steps, unit: "steps" });
      model.dispose();
      return {
        recipe: spec.name,
        seed: c.seed,
        backend: ctx.backend.name,
        backbone: `${out}/backbone`,
        metrics: phase.metrics,
      };
    },
  };
}
