/**
 * One detector training phase as the detection recipes run it: batches
 * from a plan (shuffled labelled data by default), the phase's augmentation,
 * checkpoints under `<phase dir>/checkpoints`, resume, and EMA weights
 * (when enabled) written into the model and its final checkpoint, and
 * joint training when the recipe's `joint.weight` is above 0.
 */
import type { Augmenter } from "../core/contracts.ts";
import {
  BatchLoader,
  type BatchPlan,
  shuffledPlan,
} from "../core/data/loader.ts";
import type { TaskModel } from "../core/model.ts";
import type { RecipeContext } from "../core/registry.ts";
import type { ConfigObject } from "../core/config.ts";
import { saveCheckpoint, stepName } from "../core/train/checkpoint.ts";
import { train } from "../core/train/trainer.ts";
import type { Dataset } from "../core/types.ts";
import { trainerConfig, type TrainSection } from "./train_config.ts";
import {
  jointPhase,
  type JointSection,
  type PhaseLoss,
} from "./joint_training.ts";

export type { PhaseLoss } from "./joint_training.ts";

/** Inputs of `trainDetector`. */
export interface DetectorPhaseInputs {
  /** The phase folder. */
  dir: string;
  /** Augmentation. */
  augment: Augmenter;
  /** Labelled data (used for the default plan). */
  data: Dataset;
  /** Batch plan; default: `data` shuffled per epoch. */
  plan?: BatchPlan;
  /** Loss; default: the model's own. */
  loss?: PhaseLoss;
}

/** Trains `model` for one phase. */
export async function trainDetector(
  ctx: RecipeContext<ConfigObject>,
  phase: string,
  model: TaskModel,
  t: TrainSection,
  inputs: DetectorPhaseInputs,
): Promise<void> {
  const seed = Number(ctx.config.seed);
  ctx.events.emit({
    type: "phase-start",
    phase,
    total: t.steps,
    unit: "steps",
  });
  const checkpointDir = `${inputs.dir}/checkpoints`;
  // Joint training (joint.weight > 0) adds a classification batch and loss.
  const joint = await jointPhase(
    ctx.registry,
    ctx.config.joint as JointSection | undefined,
    {
      model,
      data: new BatchLoader({
        plan: inputs.plan ?? shuffledPlan(inputs.data, t.batchSize, seed),
        augment: inputs.augment,
      }),
      loss: inputs.loss ?? { fn: (b, c) => model.loss(b, c) },
      seed,
      events: ctx.events,
      phase,
    },
  );
  let r;
  try {
    r = await train({
      phase,
      model: joint.model,
      config: trainerConfig(t, seed),
      data: joint.data,
      loss: joint.loss.fn,
      extraState: joint.loss.state,
      events: ctx.events,
      checkpointDir,
      resume: ctx.resume,
    });
  } finally {
    joint.dispose();
  }
  if (r.ema) {
    // Evaluate and keep the averaged weights, as EMA training does.
    for (const [name, v] of model.namedVariables()) {
      v.assign(r.ema.shadow.get(name)!);
    }
    r.ema.dispose();
    await saveCheckpoint(checkpointDir, stepName(t.steps), {
      weights: new Map(model.namedVariables()),
      state: new Map(),
      meta: { step: t.steps, ema: true },
    });
  }
}
