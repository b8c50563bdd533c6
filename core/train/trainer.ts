/**
 * The training loop: one plain function a user can read in one sitting, in
 * the manner of detectron2's `TrainerBase`. Each step fetches batch `step` (a
 * pure function of the step, so a resumed run sees the same data), computes
 * the loss and its gradients, clips them and applies the optimizer. What
 * varies around that — the learning-rate schedule, the NaN guard, EMA,
 * events, checkpoints and resume, periodic evaluation — is a `TrainHook`
 * (`hooks.ts`); each hook saves and restores its own state with checkpoints.
 */
import * as tf from "@tensorflow/tfjs-core";
import "../gradients.ts";
import type { LossResult } from "../contracts.ts";
import type { EventBus } from "../events.ts";
import type { ForwardContext, Module } from "../nn/module.ts";
import { Rng, type RngState, seedFor } from "../rng.ts";
import { type CheckpointData, restoreModel } from "./checkpoint.ts";
import {
  clipByGlobalNorm,
  Optimizer,
  type OptimizerConfig,
} from "./optimizer.ts";
import type { ScheduleConfig } from "./schedule.ts";
import { phaseHooks, type ResumableState } from "./hooks.ts";

export type { ResumableState } from "./hooks.ts";

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

/**
 * Runs a training phase. With EMA enabled the averaged weights are in the
 * model when it returns (and in its final checkpoint).
 */
export async function train<B>(opts: TrainOptions<B>): Promise<TrainResult> {
  const { model, config, data } = opts;
  // Frozen modules' parameters are not differentiated nor updated.
  const params = new Map(model.namedTrainableParameters());
  const byTfName = new Map([...params].map(([n, v]) => [v.name, n]));
  const hooks = phaseHooks(opts);
  const loop = createLoop(opts.phase, model, config, hooks);
  for (const h of hooks) await h.beforeTrain?.(loop);

  let finalLoss = NaN;
  const start = loop.startStep;
  let next = start < config.steps ? data.batchAt(start) : null;
  try {
    for (let step = start; step < config.steps; step++) {
      const batch = await next!;
      // Load the next batch while this one trains; a failing prefetch
      // surfaces when awaited, so do not let it go unhandled meanwhile.
      next = step + 1 < config.steps ? data.batchAt(step + 1) : null;
      next?.catch(() => {});
      const t0 = performance.now();
      for (const h of hooks) h.beforeStep?.(loop, step);
      const kept: Record<string, tf.Scalar> = {};
      const { value, grads } = tf.variableGrads(() => {
        const r = opts.loss(batch, { training: true, rng: loop.rng });
        for (const [k, v] of Object.entries(r.components)) kept[k] = tf.keep(v);
        return r.total;
      }, [...params.values()]);
      const named = new Map<string, tf.Tensor>();
      for (const [tfName, g] of Object.entries(grads)) {
        named.set(byTfName.get(tfName)!, g);
      }
      const losses: Record<string, number> = {};
      const images = data.sizeOf(batch);
      let gradNorm: number, loss: number;
      try {
        gradNorm = await clipByGlobalNorm(named, config.clipNorm);
        loss = (await value.data())[0];
        for (const h of hooks) h.afterBackward?.(loop, step, loss);
        loop.optimizer.apply(params, named, loop.lr);
        for (const [k, v] of Object.entries(kept)) {
          losses[k] = (await v.data())[0];
        }
      } finally {
        tf.dispose([value, ...named.values(), ...Object.values(kept)]);
        data.dispose(batch);
      }
      finalLoss = loss;
      const seconds = (performance.now() - t0) / 1000;
      const result = {
        step: step + 1,
        loss,
        losses,
        gradNorm,
        images,
        seconds,
      };
      for (const h of hooks) await h.afterStep?.(loop, result);
      // Give timers and I/O (status server, signals) a turn: tfjs' awaits on
      // CPU backends resolve as microtasks and would starve them.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    for (const h of hooks) await h.afterTrain?.(loop);
  } finally {
    for (const h of hooks) h.dispose?.();
    loop.optimizer.dispose();
    // A failed step leaves the prefetched batch in flight: free it when it lands.
    next?.then((b) => data.dispose(b), () => {});
  }
  return { steps: config.steps, startStep: start, finalLoss };
}

function createLoop(
  phase: string,
  model: Module,
  config: TrainerConfig,
  hooks: readonly TrainHook[],
): TrainLoop {
  const optimizer = new Optimizer(config.optimizer);
  const rng = new Rng(seedFor(config.seed, 0x7a11));
  return {
    phase,
    model,
    config,
    optimizer,
    rng,
    startStep: 0,
    lr: 0,
    async snapshot(step) {
      const state = new Map<string, tf.Tensor>();
      const opt = optimizer.state();
      for (const [n, v] of opt.slots) state.set(`opt/${n}`, v);
      const json: Record<string, unknown> = {};
      for (const h of hooks) {
        const s = await h.saveState?.();
        if (!s) continue;
        for (const [k, t] of s.tensors ?? []) state.set(`${h.name}/${k}`, t);
        if (s.json !== undefined) json[h.name] = s.json;
      }
      return {
        weights: new Map(model.namedVariables()),
        state,
        meta: {
          step,
          iterations: opt.iterations,
          rng: rng.getState(),
          hooks: json,
        },
      };
    },
    restore(data, where) {
      restoreModel(model, data.weights, where);
      const slots = new Map<string, tf.Tensor>();
      for (const [name, t] of data.state) {
        if (name.startsWith("opt/")) slots.set(name.slice(4), t);
      }
      optimizer.restore(slots, Number(data.meta.iterations ?? data.meta.step));
      if (data.meta.rng) rng.setState(data.meta.rng as RngState);
      const json = (data.meta.hooks ?? {}) as Record<string, unknown>;
      for (const h of hooks) {
        const prefix = `${h.name}/`;
        const tensors = new Map(
          [...data.state].filter(([n]) => n.startsWith(prefix))
            .map(([n, t]) => [n.slice(prefix.length), t]),
        );
        h.loadState?.({ tensors, json: json[h.name] });
      }
    },
  };
}
