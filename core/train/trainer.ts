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
import { restoreModel } from "./checkpoint.ts";
import {
  checkpointHook,
  emaHook,
  lrScheduleHook,
  nanGuardHook,
  resumableStateHook,
  stepEventsHook,
} from "./hooks.ts";
import type {
  BatchSource,
  ResumableState,
  TrainerConfig,
  TrainHook,
  TrainLoop,
} from "./loop.ts";
import { clipByGlobalNorm, Optimizer } from "./optimizer.ts";

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
  const params = new Map(model.namedParameters());
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

/**
 * The hooks a phase runs, in order: schedule, NaN guard, loss state, EMA
 * (when `emaDecay` > 0), events, the caller's hooks, and checkpoints last,
 * so every other hook has started before a resume restores its state and
 * the final save holds the EMA weights swapped in.
 */
export function phaseHooks<B>(opts: TrainOptions<B>): TrainHook[] {
  const hooks = [lrScheduleHook(), nanGuardHook()];
  if (opts.extraState) {
    hooks.push(resumableStateHook("extra", opts.extraState));
  }
  if (opts.config.emaDecay > 0) hooks.push(emaHook(opts.config.emaDecay));
  if (opts.events) hooks.push(stepEventsHook(opts.events));
  hooks.push(...opts.hooks ?? []);
  if (opts.checkpointDir) {
    hooks.push(
      checkpointHook(opts.checkpointDir, opts.resume ?? false, opts.events),
    );
  }
  return hooks;
}
