/**
 * The standard hooks of the training loop (`trainer.ts`): the learning-rate
 * schedule, the NaN guard, EMA, step events, checkpoints with resume,
 * periodic evaluation, and a loss's resumable state. `defaultHooks` builds
 * them from a phase's options, in the order they must run.
 */
import type { EventBus } from "../events.ts";
import {
  latestCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  stepName,
} from "./checkpoint.ts";
import { WeightEma } from "./ema.ts";
import { learningRate } from "./schedule.ts";
import type {
  HookState,
  ResumableState,
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
 * Keeps an exponential moving average of the weights and swaps it into the
 * model when training ends, so every recipe evaluates and saves the
 * averaged weights the same way.
 */
export function emaHook(decay: number): TrainHook {
  let ema: WeightEma | null = null;
  return {
    name: "ema",
    beforeTrain(loop) {
      ema = new WeightEma(loop.model, decay);
    },
    afterStep(_loop, r) {
      ema!.update(r.step - 1);
    },
    afterTrain(loop) {
      for (const [name, v] of loop.model.namedVariables()) {
        v.assign(ema!.shadow.get(name)!);
      }
    },
    dispose() {
      ema?.dispose();
    },
    saveState: () => ({ tensors: ema!.shadow }),
    loadState(state) {
      for (const [name, t] of state.tensors ?? []) {
        ema!.shadow.get(name)?.assign(t);
      }
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
        for (const t of [...ck.weights.values(), ...ck.state.values()]) {
          t.dispose();
        }
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

/**
 * Runs `evaluate` every `every` steps and emits its metrics as an `eval`
 * event (the dashboard plots them); keeps the latest metrics for the run.
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
