/**
 * The types of the training loop and its hooks (`trainer.ts`, `hooks.ts`),
 * in a file of their own so that neither imports the other's values.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { LossResult, ResumableState } from "../contracts.ts";
import type { EventBus } from "../events.ts";
import type { ForwardContext, Module } from "../nn/module.ts";
import type { Rng } from "../rng.ts";
import type { CheckpointData } from "./checkpoint.ts";
import type { Optimizer, OptimizerConfig } from "./optimizer.ts";
import type { ScheduleConfig } from "./schedule.ts";

/** Trainer settings (all part of a recipe's config). */
export interface TrainerConfig {
  /** Optimisation steps. */
  steps: number;
  /** Optimizer. */
  optimizer: OptimizerConfig;
  /** Learning-rate schedule (`totalSteps` is taken from `steps`). */
  schedule: Omit<ScheduleConfig, "totalSteps">;
  /** Clip gradients to this global norm; 0 disables. */
  clipNorm: number;
  /** EMA decay of the weights; 0 disables. */
  emaDecay: number;
  /** Seed of the trainer's random stream (drop-connect, etc.). */
  seed: number;
  /** Save a checkpoint every N steps (and at the end); 0 = only at the end. */
  checkpointEvery: number;
  /**
   * Micro-batches whose mean gradient makes one step (default 1): a K×
   * larger batch at the memory of one; what a loss computes across a batch
   * (batch-norm statistics, a contrastive loss's negatives) stays within
   * its micro-batch.
   */
  accumulate?: number;
}

/** Where batches come from: batch `step` is fixed by the step number. */
export interface BatchSource<B> {
  /** Loads batch number `step`. */
  batchAt(step: number): Promise<B>;
  /** Images in a batch, for throughput. */
  sizeOf(batch: B): number;
  /** Frees a batch's tensors. */
  dispose(batch: B): void;
}

/** What a hook sees of the running loop. */
export interface TrainLoop {
  /** Phase name used in events and logs. */
  readonly phase: string;
  /** The model trained. */
  readonly model: Module;
  /** Settings. */
  readonly config: TrainerConfig;
  /** Optimizer (its slots are checkpointed by the loop). */
  readonly optimizer: Optimizer;
  /** The trainer's random stream (drop-connect). */
  readonly rng: Rng;
  /** First step to run; a resuming hook moves it forward in `beforeTrain`. */
  startStep: number;
  /** Learning rate of the current step, set by the schedule hook. */
  lr: number;
  /** Everything needed to resume exactly: model, optimizer, RNG, hooks. */
  snapshot(step: number): Promise<CheckpointData>;
  /** Restores a `snapshot` (the caller disposes the tensors). */
  restore(data: CheckpointData, where: string): void;
}

/** Numbers of a step, after the optimizer update. */
export interface StepResult {
  /** Steps completed (1-based). */
  step: number;
  /** Total loss. */
  loss: number;
  /** Named loss components. */
  losses: Record<string, number>;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Images in the batch. */
  images: number;
  /** Wall time of the step. */
  seconds: number;
}

/** A hook state saved in checkpoints: tensors and/or JSON. */
export interface HookState {
  /** Tensors, saved under `<hook name>/<key>`. */
  tensors?: ReadonlyMap<string, tf.Tensor>;
  /** JSON, saved under `meta.hooks[<hook name>]`. */
  json?: unknown;
}

/** Code run around the loop's steps (detectron2's `HookBase`). */
export interface TrainHook {
  /** Unique name; keys the hook's state in checkpoints. */
  readonly name: string;
  /** Before the first step (resume happens here). */
  beforeTrain?(loop: TrainLoop): void | Promise<void>;
  /** Before step `step` (0-based). */
  beforeStep?(loop: TrainLoop, step: number): void;
  /** After the gradients, before the update; throwing aborts the run. */
  afterBackward?(loop: TrainLoop, step: number, loss: number): void;
  /** After the update of each step. */
  afterStep?(loop: TrainLoop, result: StepResult): void | Promise<void>;
  /** After the last step (also when every step was done before a resume). */
  afterTrain?(loop: TrainLoop): void | Promise<void>;
  /** Frees what the hook holds; runs after the run, succeeded or failed. */
  dispose?(): void;
  /** State to checkpoint. */
  saveState?(): HookState | Promise<HookState>;
  /** Restores `saveState`'s result. */
  loadState?(state: HookState): void;
}

/** One training phase. */
export interface TrainOptions<B> {
  /** Phase name used in events and logs. */
  phase: string;
  /** The model trained (all its parameters). */
  model: Module;
  /** Settings. */
  config: TrainerConfig;
  /** Batches. */
  data: BatchSource<B>;
  /** Forward + loss; called under the gradient tape. */
  loss(batch: B, ctx: ForwardContext): LossResult;
  /** Event bus for step events. */
  events?: EventBus;
  /** Folder for checkpoints; none = no checkpoints. */
  checkpointDir?: string;
  /** Continue from the newest checkpoint in `checkpointDir`. */
  resume?: boolean;
  /** Extra state saved with checkpoints (e.g. a loss's moving averages). */
  extraState?: ResumableState;
  /** Extra hooks, run after the standard ones and before checkpoints (`phaseHooks`). */
  hooks?: readonly TrainHook[];
}

/** What a finished phase returns. */
export interface TrainResult {
  /** Steps completed (including those before a resume). */
  steps: number;
  /** Step the run started at (0 unless resumed). */
  startStep: number;
  /** Loss of the last step. */
  finalLoss: number;
}
