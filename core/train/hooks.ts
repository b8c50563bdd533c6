/**
 * The standard hooks of the training loop (`trainer.ts`): the learning-rate
 * schedule, the NaN guard, EMA, step events, checkpoints with resume, and a
 * loss's resumable state. `phaseHooks` builds them from a phase's options,
 * in the order they must run.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { EventBus } from "../events.ts";
import {
  disposeCheckpoint,
  latestCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  stepName,
} from "./checkpoint.ts";
import { learningRate } from "./schedule.ts";
import type { ResumableState } from "../contracts.ts";
import type {
  HookState,
  StepResult,
  TrainHook,
  TrainLoop,
  TrainOptions,
} from "./loop.ts";

/** Sets `loop.lr` from the config's schedule before each step. */
export function lrScheduleHook(): TrainHook {
  return {
    name: "lr",
    beforeStep(loop, step) {
      const schedule = {
        ...loop.config.schedule,
        totalSteps: loop.config.steps,
      };
      loop.lr = learningRate(schedule, step);
    },
  };
}

/** Stops the run with a one-line error when the loss is not finite. */
export function nanGuardHook(): TrainHook {
  return {
    name: "nan-guard",
    afterBackward(loop, step, loss) {
      if (Number.isFinite(loss)) return;
      throw new Error(
        `${loop.phase}: loss is ${loss} at step ${
          step + 1
        } (lr ${loop.lr}); lower the learning rate or check the data`,
      );
    },
  };
}

/**
 * Keeps an exponential moving average of the weights (parameters and BN
 * statistics), `shadow = d·shadow + (1−d)·value` with the TF warm-up
 * `d = min(decay, (1+t)/(10+t))`, and swaps it into the model when training
 * ends, so every recipe evaluates and saves the averaged weights alike.
 * Frozen variables keep their exact values (d·v + (1−d)·v may round).
 */
export function emaHook(decay: number): TrainHook {
  const shadow = new Map<string, tf.Variable>();
  // (average, variable) pairs updated each step, found once: the module tree
  // is not walked in the step, and frozen variables are left out.
  let averaged: [tf.Variable, tf.Variable][] = [];
  return {
    name: "ema",
    beforeTrain(loop) {
      const frozen = loop.model.frozenVariableNames();
      for (const [name, v] of loop.model.namedVariables()) {
        // tf.variable keeps its own reference: free the temporary copy.
        const copy = v.clone();
        shadow.set(name, tf.variable(copy, false));
        copy.dispose();
        if (!frozen.has(name)) averaged.push([shadow.get(name)!, v]);
      }
    },
    afterStep(_loop, r) {
      const d = Math.min(decay, r.step / (9 + r.step));
      tf.tidy(() => {
        for (const [s, v] of averaged) {
          s.assign(tf.add(tf.mul(s, d), tf.mul(v, 1 - d)));
        }
      });
    },
    afterTrain(loop) {
      for (const [name, v] of loop.model.namedVariables()) {
        v.assign(shadow.get(name)!);
      }
    },
    dispose() {
      for (const s of shadow.values()) s.dispose();
      shadow.clear();
      averaged = [];
    },
    saveState: () => ({ tensors: shadow }),
    loadState(state) {
      for (const [name, t] of state.tensors ?? []) shadow.get(name)?.assign(t);
    },
  };
}

/** Emits a `step` event after each step (loss, lr, throughput, ETA). */
export function stepEventsHook(events: EventBus): TrainHook {
  let started = 0;
  return {
    name: "events",
    beforeTrain() {
      started = performance.now();
    },
    afterStep(loop, r: StepResult) {
      const elapsedSec = (performance.now() - started) / 1000;
      const steps = loop.config.steps;
      events.emit({
        type: "step",
        phase: loop.phase,
        step: r.step,
        totalSteps: steps,
        loss: r.loss,
        losses: r.losses,
        lr: loop.lr,
        imagesPerSec: r.images / Math.max(1e-6, r.seconds),
        elapsedSec,
        etaSec: (elapsedSec / (r.step - loop.startStep)) * (steps - r.step),
        gradNorm: r.gradNorm,
      });
    },
  };
}

/**
 * Resumes from the newest checkpoint in `dir` (when `resume`), saves one
 * every `config.checkpointEvery` steps and one at the end. Must run after
 * the hooks whose state it saves have started (it is last by default).
 */
export function checkpointHook(
  dir: string,
  resume: boolean,
  events?: EventBus,
): TrainHook {
  const save = async (loop: TrainLoop, step: number) => {
    await saveCheckpoint(dir, stepName(step), await loop.snapshot(step));
  };
  return {
    name: "checkpoint",
    async beforeTrain(loop) {
      const path = resume ? await latestCheckpoint(dir) : null;
      if (!path) return;
      const ck = await loadCheckpoint(path);
      try {
        loop.restore(ck, path);
      } finally {
        disposeCheckpoint(ck);
      }
      loop.startStep = ck.meta.step;
      events?.emit({
        type: "log",
        message: `${loop.phase}: resumed from ${path} at step ${ck.meta.step}`,
      });
    },
    async afterStep(loop, r) {
      const every = loop.config.checkpointEvery;
      if (every > 0 && r.step % every === 0) await save(loop, r.step);
    },
    async afterTrain(loop) {
      const steps = loop.config.steps;
      if (loop.startStep < steps || !resume) await save(loop, steps);
    },
  };
}

/** Saves and restores a loss's (or any object's) resumable state. */
export function resumableStateHook(
  name: string,
  state: ResumableState,
): TrainHook {
  return {
    name,
    saveState: async (): Promise<HookState> => ({ json: await state.save() }),
    loadState(s) {
      if (s.json !== undefined) state.load(s.json);
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
