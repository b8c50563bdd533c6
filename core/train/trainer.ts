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
import type { Module } from "../nn/module.ts";
import { Rng, type RngState, seedFor } from "../rng.ts";
import { restoreModel } from "./checkpoint.ts";
import { phaseHooks } from "./hooks.ts";
import type {
  TrainerConfig,
  TrainHook,
  TrainLoop,
  TrainOptions,
  TrainResult,
} from "./loop.ts";
import { clipByGlobalNorm, Optimizer } from "./optimizer.ts";

export type * from "./loop.ts";

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

  // Forward + backward of one (micro-)batch; adds its gradients into `sum`.
  const backward = async (batch: B, sum: Map<string, tf.Tensor>) => {
    const kept: Record<string, tf.Scalar> = {};
    const { value, grads } = tf.variableGrads(() => {
      const r = opts.loss(batch, { training: true, rng: loop.rng });
      for (const [k, v] of Object.entries(r.components)) kept[k] = tf.keep(v);
      return r.total;
    }, [...params.values()]);
    for (const [tfName, g] of Object.entries(grads)) {
      const name = byTfName.get(tfName)!;
      const prev = sum.get(name);
      sum.set(name, prev ? tf.add(prev, g) : g);
      if (prev) tf.dispose([prev, g]);
    }
    try {
      const losses: Record<string, number> = {};
      for (const [k, v] of Object.entries(kept)) {
        losses[k] = (await v.data())[0];
      }
      return { loss: (await value.data())[0], losses };
    } finally {
      tf.dispose([value, ...Object.values(kept)]);
    }
  };
  const micro = config.accumulate ?? 1;
  if (!(Number.isInteger(micro) && micro >= 1)) {
    throw new Error(
      `${opts.phase}: accumulate must be a whole number >= 1, got ${micro}`,
    );
  }
  const batches = config.steps * micro;
  let finalLoss = NaN;
  const start = loop.startStep;
  let next = start < config.steps ? data.batchAt(start * micro) : null;
  try {
    for (let step = start; step < config.steps; step++) {
      const t0 = performance.now();
      for (const h of hooks) h.beforeStep?.(loop, step);
      // Micro-batches `step·K … step·K + K − 1` each run forward and
      // backward on their own; the step applies the mean of their gradients.
      const named = new Map<string, tf.Tensor>();
      const losses: Record<string, number> = {};
      let loss = 0, images = 0, gradNorm: number;
      try {
        for (let k = 0; k < micro; k++) {
          const index = step * micro + k;
          const batch = await next!;
          // Load the next batch while this one trains; a failing prefetch
          // surfaces when awaited, so do not let it go unhandled meanwhile.
          next = index + 1 < batches ? data.batchAt(index + 1) : null;
          next?.catch(() => {});
          try {
            images += data.sizeOf(batch);
            const part = await backward(batch, named);
            loss += part.loss / micro;
            for (const [c, v] of Object.entries(part.losses)) {
              losses[c] = (losses[c] ?? 0) + v / micro;
            }
          } finally {
            data.dispose(batch);
          }
        }
        if (micro > 1) {
          for (const [n, g] of named) {
            named.set(n, tf.mul(g, 1 / micro));
            g.dispose();
          }
        }
        gradNorm = await clipByGlobalNorm(named, config.clipNorm);
        for (const h of hooks) h.afterBackward?.(loop, step, loss);
        loop.optimizer.apply(params, named, loop.lr);
      } finally {
        tf.dispose([...named.values()]);
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
