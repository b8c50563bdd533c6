/**
 * The training loop: one plain function a user can read in one sitting.
 * Each step fetches batch `step` (a pure function of the step, so a resumed
 * run sees the same data), computes the loss and its gradients, clips them,
 * applies the optimizer at the scheduled learning rate, updates the EMA, and
 * emits a `step` event. Checkpoints hold everything needed to resume at the
 * saved step with the same schedule and random stream.
 *
 * With gradient accumulation (`accumulate` = K > 1) a step runs K
 * micro-batches, `step·K … step·K + K − 1`, each forward and backward on
 * its own, and applies the mean of their gradients: the update of a K×
 * larger batch at the memory of one micro-batch. Whatever a loss computes
 * across a batch (batch-norm statistics, the negatives of a contrastive
 * loss) stays within its micro-batch.
 */
import * as tf from "@tensorflow/tfjs-core";
import "../gradients.ts";
import type { LossResult } from "../contracts.ts";
import type { EventBus } from "../events.ts";
import type { ForwardContext, Module } from "../nn/module.ts";
import { Rng, type RngState, seedFor } from "../rng.ts";
import {
  type CheckpointMeta,
  latestCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  stepName,
} from "./checkpoint.ts";
import { WeightEma } from "./ema.ts";
import {
  clipByGlobalNorm,
  Optimizer,
  type OptimizerConfig,
} from "./optimizer.ts";
import { learningRate, type ScheduleConfig } from "./schedule.ts";

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
  /** Micro-batches whose gradients are averaged into each step (default 1). */
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

/** State outside the model that must survive a resume (e.g. loss EMAs). */
export interface ResumableState {
  /** JSON-serialisable snapshot, or a promise of one. */
  save(): unknown;
  /** Restores a snapshot from `save`. */
  load(snapshot: unknown): void;
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
  /** Extra state saved with checkpoints. */
  extraState?: ResumableState;
}

/** What a finished phase returns. */
export interface TrainResult {
  /** Steps completed (including those before a resume). */
  steps: number;
  /** Step the run started at (0 unless resumed). */
  startStep: number;
  /** Loss of the last step. */
  finalLoss: number;
  /** Weight EMA when enabled (caller disposes it). */
  ema: WeightEma | null;
}

/** Runs a training phase. */
export async function train<B>(opts: TrainOptions<B>): Promise<TrainResult> {
  const { model, config, data, events, phase } = opts;
  // Frozen modules' parameters are not differentiated nor updated.
  const params = new Map(model.namedTrainableParameters());
  const byTfName = new Map([...params].map(([n, v]) => [v.name, n]));
  const optimizer = new Optimizer(config.optimizer);
  const ema = config.emaDecay > 0
    ? new WeightEma(model, config.emaDecay)
    : null;
  const rng = new Rng(seedFor(config.seed, 0x7a11));
  const schedule: ScheduleConfig = {
    ...config.schedule,
    totalSteps: config.steps,
  };

  let startStep = 0;
  if (opts.resume && opts.checkpointDir) {
    const dir = await latestCheckpoint(opts.checkpointDir);
    if (dir) {
      const ck = await loadCheckpoint(dir);
      restoreModel(model, ck.weights, dir);
      const slots = new Map<string, tf.Tensor>();
      for (const [name, t] of ck.state) {
        if (name.startsWith("ema/") && ema) {
          ema.shadow.get(name.slice(4))?.assign(t);
        } else if (name.startsWith("opt/")) slots.set(name.slice(4), t);
      }
      optimizer.restore(slots, Number(ck.meta.iterations ?? ck.meta.step));
      if (ck.meta.rng) rng.setState(ck.meta.rng as RngState);
      if (opts.extraState && ck.meta.extra !== undefined) {
        opts.extraState.load(ck.meta.extra);
      }
      startStep = ck.meta.step;
      for (const t of [...ck.weights.values(), ...ck.state.values()]) {
        t.dispose();
      }
      events?.emit({
        type: "log",
        message: `${phase}: resumed from ${dir} at step ${startStep}`,
      });
    }
  }

  const save = async (step: number) => {
    if (!opts.checkpointDir) return;
    const state = new Map<string, tf.Tensor>();
    const opt = optimizer.state();
    for (const [n, v] of opt.slots) state.set(`opt/${n}`, v);
    if (ema) { for (const [n, v] of ema.shadow) state.set(`ema/${n}`, v); }
    const meta: CheckpointMeta = {
      step,
      iterations: opt.iterations,
      rng: rng.getState(),
      extra: await opts.extraState?.save(),
    };
    await saveCheckpoint(opts.checkpointDir, stepName(step), {
      weights: new Map(model.namedVariables()),
      state,
      meta,
    });
  };

  const micro = config.accumulate ?? 1;
  if (!(Number.isInteger(micro) && micro >= 1)) {
    throw new Error(
      `${phase}: accumulate must be a whole number >= 1, got ${micro}`,
    );
  }
  const lastBatch = config.steps * micro;
  const started = performance.now();
  let finalLoss = NaN;
  let next = startStep < config.steps ? data.batchAt(startStep * micro) : null;
  for (let step = startStep; step < config.steps; step++) {
    const t0 = performance.now();
    const lr = learningRate(schedule, step);
    let named = new Map<string, tf.Tensor>();
    let loss = 0, images = 0;
    const losses: Record<string, number> = {};
    for (let k = 0; k < micro; k++) {
      const index = step * micro + k;
      const batch = await next!;
      // Load the next batch while this one trains.
      next = index + 1 < lastBatch ? data.batchAt(index + 1) : null;
      // A failing prefetch surfaces when awaited; do not let it go unhandled
      // if this step fails first.
      next?.catch(() => {});
      const kept: Record<string, tf.Scalar> = {};
      const { value, grads } = tf.variableGrads(() => {
        const r = opts.loss(batch, { training: true, rng });
        for (const [kk, v] of Object.entries(r.components)) {
          kept[kk] = tf.keep(v);
        }
        return r.total;
      }, [...params.values()]);
      const part = (await value.data())[0];
      images += data.sizeOf(batch);
      data.dispose(batch);
      if (!Number.isFinite(part)) {
        tf.dispose([value, ...named.values(), ...Object.values(kept)]);
        tf.dispose(Object.values(grads));
        throw new Error(
          `${phase}: loss is ${part} at step ${
            step + 1
          } (lr ${lr}); lower the learning rate or check the data`,
        );
      }
      loss += part / micro;
      for (const [kk, v] of Object.entries(kept)) {
        losses[kk] = (losses[kk] ?? 0) + (await v.data())[0] / micro;
      }
      tf.dispose([value, ...Object.values(kept)]);
      named = addGradients(named, grads, byTfName);
    }
    if (micro > 1) named = scaleGradients(named, 1 / micro);
    const gradNorm = await clipByGlobalNorm(named, config.clipNorm);
    optimizer.apply(params, named, lr);
    ema?.update(step);
    tf.dispose([...named.values()]);
    finalLoss = loss;

    const now = performance.now();
    const elapsedSec = (now - started) / 1000;
    const done = step + 1 - startStep;
    events?.emit({
      type: "step",
      phase,
      step: step + 1,
      totalSteps: config.steps,
      loss,
      losses,
      lr,
      imagesPerSec: images / Math.max(1e-6, (now - t0) / 1000),
      elapsedSec,
      etaSec: (elapsedSec / done) * (config.steps - step - 1),
      gradNorm,
    });
    // Give timers and I/O (status server, signals) a turn: tfjs' awaits on
    // CPU backends resolve as microtasks and would starve them.
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (
      config.checkpointEvery > 0 && (step + 1) % config.checkpointEvery === 0
    ) {
      await save(step + 1);
    }
  }
  if (startStep < config.steps || !opts.resume) await save(config.steps);
  optimizer.dispose();
  return { steps: config.steps, startStep, finalLoss, ema };
}

/**
 * Adds a micro-batch's gradients (keyed by tf variable name) into the sum
 * keyed by parameter name; the first micro-batch's are taken as they are.
 * Consumes `grads` and the old sum.
 */
function addGradients(
  sum: Map<string, tf.Tensor>,
  grads: tf.NamedTensorMap,
  byTfName: ReadonlyMap<string, string>,
): Map<string, tf.Tensor> {
  for (const [tfName, g] of Object.entries(grads)) {
    const name = byTfName.get(tfName)!;
    const prev = sum.get(name);
    if (prev) {
      sum.set(name, tf.add(prev, g));
      tf.dispose([prev, g]);
    } else sum.set(name, g);
  }
  return sum;
}

/** Multiplies every gradient by `factor`, disposing the originals. */
function scaleGradients(
  grads: Map<string, tf.Tensor>,
  factor: number,
): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [name, g] of grads) {
    out.set(name, tf.mul(g, factor));
    g.dispose();
  }
  return out;
}

/** Assigns checkpoint tensors to a module's variables; names must match. */
export function restoreModel(
  model: Module,
  weights: ReadonlyMap<string, tf.Tensor>,
  where = "checkpoint",
): void {
  for (const [name, v] of model.namedVariables()) {
    const t = weights.get(name);
    if (!t) throw new Error(`${where}: missing variable "${name}"`);
    if (t.shape.join("x") !== v.shape.join("x")) {
      throw new Error(
        `${where}: "${name}" has shape [${t.shape}], model expects [${v.shape}]`,
      );
    }
    v.assign(t);
  }
}

/** Loads the weights of checkpoint folder `dir` (a `step-*` folder) into `model`. */
export async function loadModelWeights(
  model: Module,
  dir: string,
): Promise<void> {
  const ck = await loadCheckpoint(dir);
  try {
    restoreModel(model, ck.weights, dir);
  } finally {
    for (const t of [...ck.weights.values(), ...ck.state.values()]) t.dispose();
  }
}

/** Loads the newest checkpoint under `dir` (a phase's `checkpoints/`) into `model`. */
export async function loadLatestWeights(
  model: Module,
  dir: string,
): Promise<void> {
  const path = await latestCheckpoint(dir);
  if (!path) {
    throw new Error(
      `${dir}: no checkpoint to load (delete the phase's metrics.json to retrain it)`,
    );
  }
  await loadModelWeights(model, path);
}
