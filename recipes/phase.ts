/**
 * Phases of a recipe (teacher, pseudo-labels, student, ...). A phase that
 * finished wrote `<out>/<phase>/metrics.json`; re-running with the same
 * `--out` skips it, so long pipelines are resumable phase by phase; a
 * finished phase's model is loaded back from its checkpoints.
 */
import type { EventBus } from "../core/events.ts";
import { exists, readJson, writeJsonAtomic } from "../core/fs.ts";
import type { Module } from "../core/nn/module.ts";
import {
  disposeCheckpoint,
  latestCheckpoint,
  loadCheckpoint,
  restoreModel,
} from "../core/train/checkpoint.ts";

/** Metrics a phase reports. */
export type PhaseMetrics = Record<string, number>;

/** Result of `runPhase`. */
export interface PhaseResult<M extends PhaseMetrics> {
  /** Metrics (read back when skipped). */
  metrics: M;
  /** True when the phase had already finished. */
  skipped: boolean;
  /** The phase's folder. */
  dir: string;
}

/** Size of a phase's work, for `phase-start` (progress bars). */
export interface PhaseWork {
  /** Units of work (steps, images); 0 when unknown. */
  total: number;
  /** Unit name. */
  unit: string;
}

/**
 * Runs `fn` in `<out>/<name>/` unless that phase already finished, emitting
 * `phase-start` before and `phase-end` after; records the metrics
 * atomically, so a finished phase is skipped when the run is repeated.
 */
export async function runPhase<M extends PhaseMetrics>(
  out: string,
  name: string,
  events: EventBus,
  fn: (dir: string) => Promise<M>,
  work: PhaseWork = { total: 0, unit: "steps" },
): Promise<PhaseResult<M>> {
  const dir = `${out}/${name}`;
  const marker = `${dir}/metrics.json`;
  if (await exists(marker)) {
    const metrics = await readJson<M>(marker);
    events.emit({ type: "phase-end", phase: name, metrics, skipped: true });
    return { metrics, skipped: true, dir };
  }
  await Deno.mkdir(dir, { recursive: true });
  events.emit({ type: "phase-start", phase: name, ...work });
  const metrics = await fn(dir);
  await writeJsonAtomic(marker, metrics);
  events.emit({ type: "phase-end", phase: name, metrics, skipped: false });
  return { metrics, skipped: false, dir };
}

/**
 * Loads the weights of checkpoint `dir` into `model`: a `step-*` folder, or
 * a phase's `checkpoints/` folder (its newest checkpoint).
 */
export async function loadModelWeights(
  model: Module,
  dir: string,
): Promise<void> {
  const path = await exists(`${dir}/model.json`)
    ? dir
    : await latestCheckpoint(dir);
  if (!path) {
    throw new Error(
      `${dir}: no checkpoint to load (delete the phase's metrics.json to retrain it)`,
    );
  }
  const ck = await loadCheckpoint(path);
  try {
    restoreModel(model, ck.weights, path);
  } finally {
    disposeCheckpoint(ck);
  }
}

/**
 * A phase's model built only when needed: `fresh()` for the phase that
 * trains it, `trained()` for a later phase (that model, or one built and
 * loaded from `checkpoints` when the phase was skipped). A resumed run whose
 * later phases are done builds nothing.
 */
export function modelOnDemand<M extends Module>(
  build: () => Promise<M>,
  checkpoints: string,
): { fresh(): Promise<M>; trained(): Promise<M>; dispose(): void } {
  let model: M | null = null;
  return {
    fresh: async () => model = await build(),
    trained: async () => {
      if (model) return model;
      const built = await build();
      await loadModelWeights(built, checkpoints);
      return model = built;
    },
    dispose: () => {
      model?.dispose();
      model = null;
    },
  };
}
