/**
 * The training section shared by recipes (`train.*` keys), and its
 * translation to the trainer's config.
 */
import type { TrainerConfig } from "../core/train/loop.ts";
import type { OptimizerConfig } from "../core/train/optimizer.ts";

/** Flat training settings as they appear in a recipe config. */
export interface TrainSection {
  [key: string]: string | number | boolean;
  /** Optimisation steps. */
  steps: number;
  /** Images per batch. */
  batchSize: number;
  /** `sgd` (momentum) or `adam`. */
  optimizer: string;
  /** Peak learning rate. */
  lr: number;
  /** SGD momentum. */
  momentum: number;
  /** Weight decay (L2 for SGD, decoupled for Adam). */
  weightDecay: number;
  /** `cosine`, `step` or `constant`. */
  schedule: string;
  /** Linear warm-up steps. */
  warmupSteps: number;
  /** Clip gradients to this global norm (0 = off). */
  clipNorm: number;
  /** Weight EMA decay (0 = off). */
  emaDecay: number;
  /** Checkpoint every N steps (0 = end only). */
  checkpointEvery: number;
}

/**
 * A train section with gradient accumulation: `accumulate` micro-batches of
 * `batchSize` images make one optimisation step.
 */
export interface AccumulatingTrainSection extends TrainSection {
  /** Micro-batches per step (effective batch = accumulate × batchSize). */
  accumulate: number;
}

/** Meaning of `train.accumulate`, for recipes whose train section has it. */
export const ACCUMULATE_HELP: Readonly<Record<string, string>> = {
  accumulate:
    "micro-batches of batchSize images whose mean gradient makes one step (effective batch = accumulate x batchSize; batch statistics stay per micro-batch)",
};

/** Meaning of each `train.*` key, for `--help`. */
export const TRAIN_HELP: Readonly<Record<string, string>> = {
  steps: "optimisation steps",
  batchSize: "images per batch",
  optimizer: "sgd (momentum 0.9) or adam",
  lr: "peak learning rate (after warm-up)",
  momentum: "SGD momentum",
  weightDecay: "weight decay on conv/dense kernels",
  schedule:
    "learning-rate schedule: cosine, step (x0.1 at 2/3 and 8/9) or constant",
  warmupSteps: "linear warm-up steps",
  clipNorm: "clip gradients to this global norm (0 = off)",
  emaDecay: "EMA of weights for evaluation (0 = off)",
  checkpointEvery: "save a checkpoint every N steps (0 = only at the end)",
};

/** Allowed values of the string keys of a train section. */
export const TRAIN_CHOICES: Readonly<Record<string, readonly string[]>> = {
  optimizer: ["sgd", "adam"],
  schedule: ["cosine", "step", "constant"],
};

/** Prefixes the keys of a help or choices table (`lr` → `train.lr`). */
export function prefixKeys<V>(
  prefix: string,
  table: Readonly<Record<string, V>>,
): Record<string, V> {
  return Object.fromEntries(
    Object.entries(table).map(([k, v]) => [`${prefix}.${k}`, v]),
  );
}

/**
 * Optimizer settings of `type` with `momentum` (SGD) and `weightDecay`; no
 * Nesterov, Adam's β1, β2 and ε at 0.9, 0.999 and 1e-7.
 */
export function optimizerConfig(
  type: OptimizerConfig["type"],
  momentum: number,
  weightDecay: number,
): OptimizerConfig {
  return {
    type,
    momentum,
    nesterov: false,
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-7,
    weightDecay,
  };
}

/** The trainer config for a train section. */
export function trainerConfig(t: TrainSection, seed: number): TrainerConfig {
  return {
    steps: t.steps,
    optimizer: optimizerConfig(
      t.optimizer === "adam" ? "adam" : "sgd",
      t.momentum,
      t.weightDecay,
    ),
    schedule: {
      type: t.schedule as "cosine" | "step" | "constant",
      baseLr: t.lr,
      warmupSteps: t.warmupSteps,
      warmupFactor: 0.1,
      boundaries: [2 / 3, 8 / 9],
      decayFactor: 0.1,
      minFactor: 0,
    },
    clipNorm: t.clipNorm,
    emaDecay: t.emaDecay,
    seed,
    checkpointEvery: t.checkpointEvery,
    accumulate: typeof t.accumulate === "number" ? t.accumulate : 1,
  };
}
