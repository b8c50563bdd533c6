/**
 * One training phase as every recipe runs it (classification, detection,
 * segmentation, teacher, student, baseline): batches from a plan (shuffled
 * labelled data by default), the phase's augmentation, the trainer's
 * standard hooks (schedule, NaN guard, EMA swapped in at the end, events,
 * checkpoints under `<phase dir>/checkpoints` with resume), plus any extra
 * hooks (`periodicEvalHook` below). Written once; recipes compose it inside
 * `runPhase`.
 */
import type { Augmenter, LossResult } from "../core/contracts.ts";
import {
  BatchLoader,
  type BatchPlan,
  type SampleBatch,
  shuffledPlan,
} from "../core/data/loader.ts";
import type { TaskModel } from "../core/model.ts";
import type { ForwardContext } from "../core/nn/module.ts";
import type { RecipeContext } from "../core/registry.ts";
import type { EventBus } from "../core/events.ts";
import type {
  ResumableState,
  TrainHook,
  TrainLoop,
} from "../core/train/loop.ts";
import { train } from "../core/train/trainer.ts";
import type { Dataset } from "../core/types.ts";
import { trainerConfig, type TrainSection } from "./train_config.ts";

/** A loss over mixed batches with state that survives resume. */
export interface PhaseLoss {
  /** Forward + loss of a batch. */
  fn(batch: SampleBatch, ctx: ForwardContext): LossResult;
  /** State saved with checkpoints (e.g. loss moving averages). */
  state?: ResumableState;
}

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
  ctx: RecipeContext<{ seed: number }>,
  phase: string,
  model: TaskModel,
  t: TrainSection,
  inputs: TrainPhaseInputs,
): Promise<void> {
  const seed = ctx.config.seed;
  await train({
    phase,
    model,
    config: trainerConfig(t, seed),
    data: new BatchLoader({
      plan: inputs.plan ?? shuffledPlan(inputs.data, t.batchSize, seed),
      augment: inputs.augment,
    }),
    loss: inputs.loss?.fn ?? ((b, c) => model.loss(b, c)),
    extraState: inputs.loss?.state,
    events: ctx.events,
    checkpointDir: `${inputs.dir}/checkpoints`,
    resume: ctx.resume,
    hooks: inputs.hooks,
  });
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
