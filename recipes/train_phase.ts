/**
 * One training phase as every recipe runs it (classification, detection,
 * segmentation, teacher, student, baseline): batches from a plan (shuffled
 * labelled data by default), the phase's augmentation, the trainer's
 * standard hooks (schedule, NaN guard, EMA swapped in at the end, events,
 * checkpoints under `<phase dir>/checkpoints` with resume), plus any extra
 * hooks (`periodicEvalHook` below), and joint training when the recipe's
 * `joint.weight` is above 0. Written once; recipes compose it inside
 * `runPhase`.
 */
import type { Augmenter, LossResult } from "../core/contracts.ts";
import {
  BatchLoader,
  type BatchPlan,
  type SampleBatch,
  shuffledPlan,
} from "../core/data/loader.ts";
import { TaskModel } from "../core/model.ts";
import type { ForwardContext, Module } from "../core/nn/module.ts";
import type { RecipeContext } from "../core/registry.ts";
import type { EventBus } from "../core/events.ts";
import type { TrainHook, TrainLoop } from "../core/train/loop.ts";
import { train } from "../core/train/trainer.ts";
import type { Dataset } from "../core/types.ts";
import { trainerConfig, type TrainSection } from "./train_config.ts";
import {
  jointPhase,
  type JointSection,
  type PhaseLoss,
} from "./joint_training.ts";

export type { PhaseLoss } from "./joint_training.ts";

/**
 * What `trainPhase` trains: a module with a loss on sample batches (a
 * `TaskModel`, or e.g. SimCLR's backbone + projection).
 */
export type TrainableModel = Module & {
  /** Forward + loss of a batch. */
  loss(batch: SampleBatch, ctx: ForwardContext): LossResult;
};

/** Inputs of `trainPhase`. */
export interface TrainPhaseInputs {
  /** The phase folder. */
  dir: string;
  /** Augmentation; none = images as loaded. */
  augment?: Augmenter;
  /** Labelled data (used for the default plan). */
  data: Dataset;
  /** Batch plan; default: `data` shuffled per epoch. */
  plan?: BatchPlan;
  /** Loss; default: the model's own. */
  loss?: PhaseLoss;
  /** Hooks added to the standard ones (e.g. periodic evaluation). */
  hooks?: readonly TrainHook[];
}

/** Trains `model` for one phase (call inside `runPhase`). */
export async function trainPhase(
  ctx: RecipeContext<{ seed: number; joint?: JointSection }>,
  phase: string,
  model: TrainableModel,
  t: TrainSection,
  inputs: TrainPhaseInputs,
): Promise<void> {
  const seed = ctx.config.seed;
  const data = new BatchLoader({
    plan: inputs.plan ?? shuffledPlan(inputs.data, t.batchSize, seed),
    augment: inputs.augment,
  });
  const loss = inputs.loss ?? { fn: (b, c) => model.loss(b, c) };
  // Joint training (joint.weight > 0) adds a classification batch and loss
  // on a task model's backbone.
  const joint = model instanceof TaskModel
    ? await jointPhase(
      ctx.registry,
      ctx.config.joint,
      { model, data, loss, seed, events: ctx.events, phase },
    )
    : { model, data, loss, dispose: () => {} };
  try {
    await train({
      phase,
      model: joint.model,
      config: trainerConfig(t, seed),
      data: joint.data,
      loss: joint.loss.fn,
      extraState: joint.loss.state,
      events: ctx.events,
      checkpointDir: `${inputs.dir}/checkpoints`,
      resume: ctx.resume,
      hooks: inputs.hooks,
    });
  } finally {
    joint.dispose();
  }
}

/**
 * Runs `evaluate` every `every` steps and emits its metrics as an `eval`
 * event (the dashboard plots them): a hook to pass in `hooks`.
 */
export function periodicEvalHook(
  every: number,
  evaluate: (loop: TrainLoop, step: number) => Promise<Record<string, number>>,
  events?: EventBus,
): TrainHook {
  return {
    name: "eval",
    async afterStep(loop, r) {
      if (every <= 0 || r.step % every !== 0) return;
      const metrics = await evaluate(loop, r.step);
      events?.emit({ type: "eval", phase: loop.phase, step: r.step, metrics });
    },
  };
}
