/**
 * A study grid: init × method × augmentation × labelled fraction × seed,
 * per task. `enumerateStudy` lists its cells in a fixed order (seed
 * outermost, so a run cut short has a first seed of every cell) with
 * deterministic ids, each a recipe run with its overrides, plus the
 * pre-training runs that the cells with a pre-trained init need.
 * `selectShard` takes every N-th item: shards are disjoint and together
 * make the whole list.
 */
import type { Shard } from "../selftrain/shard.ts";
import {
  BACKBONE_FOLDER,
  FRACTION_KEY,
  INIT_KEY,
  INIT_KINDS,
  type InitKind,
  INITS,
  type Method,
  METHOD_NAMES,
  METHODS,
  methodTakesInit,
  type Task,
  TASKS,
} from "./methods.ts";

/** Settings of joint training (the detection loss plus a classification loss). */
export interface JointSettings {
  /** Weight of the classification loss. */
  weight: number;
  /** Classification dataset plugin. */
  dataset: string;
}

/** The axes and recipe settings of one task. */
export interface TaskGrid {
  /** Initialisations (rows). */
  inits: InitKind[];
  /** Methods (rows). */
  methods: Method[];
  /** Augmentation levels (columns), weakest first. */
  augments: string[];
  /** Labelled fractions in (0, 1] (columns), smallest first. */
  fractions: number[];
  /**
   * Overrides per recipe name (steps, sizes, data), as `--key=value`
   * strings; pre-training recipes take theirs from here too.
   */
  overrides: Record<string, Record<string, string>>;
  /** Joint training settings (needed when methods has `joint`). */
  joint?: JointSettings;
}

/**
 * `full`: every combination. `paper`: the paper's two sweeps, augmentation
 * at the largest fraction and fraction at the strongest (last) augmentation.
 */
export type StudyDesign = "full" | "paper";

/** A study: written to `study.json`; a folder holds one grid. */
export interface StudyGrid {
  /** Preset or study name. */
  name: string;
  /** Seeds (every cell runs once per seed). */
  seeds: number[];
  /** Which combinations of augmentation and fraction are run. */
  design: StudyDesign;
  /** Per task; a missing task is not run. */
  tasks: Partial<Record<Task, TaskGrid>>;
}

/** One recipe run of the study. */
export interface StudyJob {
  /** Folder name, unique in the study. */
  id: string;
  /** `cells` or `pretrain`: the folder under the study directory. */
  stage: "cells" | "pretrain";
  /** Recipe name. */
  recipe: string;
  /** Overrides (`--key=value`). */
  overrides: Record<string, string>;
}

/** A cell: one point of the grid for one seed. */
export interface StudyCell extends StudyJob {
  /** Always `cells`. */
  stage: "cells";
  /** Task. */
  task: Task;
  /** Initialisation. */
  init: InitKind;
  /** Method. */
  method: Method;
  /** Augmentation level. */
  augment: string;
  /** Labelled fraction. */
  fraction: number;
  /** Seed. */
  seed: number;
  /** Id of the pre-training job whose backbone this cell starts from, or `null`. */
  needs: string | null;
}

/** A pre-training run (one per task × init kind × seed). */
export interface PretrainJob extends StudyJob {
  /** Always `pretrain`. */
  stage: "pretrain";
  /** Task whose backbone it pre-trains. */
  task: Task;
  /** Init kind. */
  init: InitKind;
  /** Seed. */
  seed: number;
}

/** Cells and pre-training jobs of a grid, in run order. */
export interface StudyPlan {
  /** Grid cells. */
  cells: StudyCell[];
  /** Pre-training jobs the cells need. */
  pretrain: PretrainJob[];
}

const SAFE_NAME = /^[A-Za-z0-9_.-]+$/;
const TASK_SLUG: Readonly<Record<Task, string>> = {
  detection: "det",
  segmentation: "seg",
};

/** `0.2` → `f020`, `1` → `f100`, `0.125` → `f012.5`. */
export function fractionTag(fraction: number): string {
  const pct = Number((fraction * 100).toFixed(4));
  const [whole, frac] = String(pct).split(".");
  return `f${whole.padStart(3, "0")}${frac ? `.${frac}` : ""}`;
}

/** `1` → `100%`, `0.125` → `12.5%`. */
export function fractionLabel(fraction: number): string {
  return `${Number((fraction * 100).toFixed(4))}%`;
}

function fail(message: string): never {
  throw new Error(`study grid: ${message}`);
}

function checkUnique<T>(what: string, list: readonly T[]): void {
  if (list.length === 0) fail(`${what} is empty`);
  if (new Set(list).size !== list.length) {
    fail(`${what} has duplicates: ${list.join(", ")}`);
  }
}

/** Checks a grid; errors are one line naming the bad field. */
export function validateGrid(grid: StudyGrid): void {
  if (!grid.name || !SAFE_NAME.test(grid.name)) {
    fail(`name must be letters, digits, _ . -; got "${grid.name}"`);
  }
  checkUnique("seeds", grid.seeds);
  for (const s of grid.seeds) {
    if (!Number.isInteger(s) || s < 0) fail(`seed ${s} is not an integer >= 0`);
  }
  if (grid.design !== "full" && grid.design !== "paper") {
    fail(`design must be full or paper, got "${grid.design}"`);
  }
  const tasks = Object.keys(grid.tasks);
  if (tasks.length === 0) fail("no task");
  for (const name of tasks) {
    if (!TASKS.includes(name as Task)) {
      fail(`unknown task "${name}" (${TASKS.join(", ")})`);
    }
    const t = grid.tasks[name as Task]!;
    checkUnique(`${name}.inits`, t.inits);
    checkUnique(`${name}.methods`, t.methods);
    checkUnique(`${name}.augments`, t.augments);
    checkUnique(`${name}.fractions`, t.fractions);
    for (const i of t.inits) {
      if (!INIT_KINDS.includes(i)) {
        fail(`${name}.inits: unknown init "${i}" (${INIT_KINDS.join(", ")})`);
      }
    }
    for (const m of t.methods) {
      if (!METHOD_NAMES.includes(m)) {
        fail(
          `${name}.methods: unknown method "${m}" (${METHOD_NAMES.join(", ")})`,
        );
      }
      if (!METHODS[m].tasks[name as Task]) {
        fail(`${name}.methods: ${m} has no ${name} recipe`);
      }
      if (METHODS[m].joint && !t.joint) {
        fail(`${name}.joint: method joint needs { weight, dataset }`);
      }
    }
    for (const a of t.augments) {
      if (!SAFE_NAME.test(a)) fail(`${name}.augments: bad name "${a}"`);
    }
    for (const f of t.fractions) {
      if (!(f > 0 && f <= 1)) fail(`${name}.fractions: ${f} is not in (0, 1]`);
    }
    if (!t.inits.some((i) => t.methods.some((m) => methodTakesInit(m, i)))) {
      fail(`${name}: no method takes any of the inits ${t.inits.join(", ")}`);
    }
  }
}

/** The (init, method) rows of a task grid, in row order. */
export function gridRows(t: TaskGrid): { init: InitKind; method: Method }[] {
  const rows: { init: InitKind; method: Method }[] = [];
  for (const init of INIT_KINDS.filter((i) => t.inits.includes(i))) {
    for (const method of METHOD_NAMES.filter((m) => t.methods.includes(m))) {
      if (methodTakesInit(method, init)) rows.push({ init, method });
    }
  }
  return rows;
}

/** The (augment, fraction) points of a task grid that the design runs. */
export function gridPoints(
  t: TaskGrid,
  design: StudyDesign,
): { augment: string; fraction: number }[] {
  const largest = Math.max(...t.fractions);
  const strongest = t.augments[t.augments.length - 1];
  const points: { augment: string; fraction: number }[] = [];
  for (const augment of t.augments) {
    for (const fraction of t.fractions) {
      if (
        design === "full" || fraction === largest || augment === strongest
      ) points.push({ augment, fraction });
    }
  }
  return points;
}

/** Recipes a task grid runs: its methods' and its pre-training ones. */
export function taskRecipes(task: Task, t: TaskGrid): string[] {
  const names = gridRows(t).flatMap(({ init, method }) => [
    METHODS[method].tasks[task]?.recipe,
    INITS[init].pretrainRecipe,
  ]);
  return [...new Set(names.filter((n): n is string => !!n))];
}

function pretrainId(task: Task, init: InitKind, seed: number): string {
  return `${TASK_SLUG[task]}-${init}-s${seed}`;
}

/**
 * Every cell and pre-training job of `grid`, in run order: seed, task,
 * init, method, augmentation, fraction. `dir` is the study folder (the
 * cells' `model.init` points into it).
 */
export function enumerateStudy(grid: StudyGrid, dir: string): StudyPlan {
  validateGrid(grid);
  const cells: StudyCell[] = [];
  const pretrain = new Map<string, PretrainJob>();
  for (const seed of grid.seeds) {
    for (const task of TASKS) {
      const t = grid.tasks[task];
      if (!t) continue;
      for (const { init, method } of gridRows(t)) {
        const spec = METHODS[method];
        const binding = spec.tasks[task]!;
        let needs: string | null = null;
        const base: Record<string, string> = {
          ...t.overrides[binding.recipe],
          seed: String(seed),
        };
        const pre = INITS[init].pretrainRecipe;
        if (pre) {
          needs = pretrainId(task, init, seed);
          if (!pretrain.has(needs)) {
            pretrain.set(needs, {
              id: needs,
              stage: "pretrain",
              recipe: pre,
              task,
              init,
              seed,
              overrides: { ...t.overrides[pre], seed: String(seed) },
            });
          }
          base[INIT_KEY] = `${dir}/pretrain/${needs}/${BACKBONE_FOLDER}`;
        }
        if (spec.joint) {
          base["joint.weight"] = String(t.joint!.weight);
          base["joint.dataset"] = t.joint!.dataset;
        }
        for (const { augment, fraction } of gridPoints(t, grid.design)) {
          const overrides: Record<string, string> = {
            ...base,
            [FRACTION_KEY]: String(fraction),
          };
          for (const k of binding.augmentKeys) overrides[k] = augment;
          cells.push({
            id: `${TASK_SLUG[task]}-${init}-${spec.slug}-${augment}-${
              fractionTag(fraction)
            }-s${seed}`,
            stage: "cells",
            recipe: binding.recipe,
            overrides,
            task,
            init,
            method,
            augment,
            fraction,
            seed,
            needs,
          });
        }
      }
    }
  }
  return { cells, pretrain: [...pretrain.values()] };
}

/** Items `shard.index`, `shard.index + count`, … of `list` (round-robin). */
export function selectShard<T>(list: readonly T[], shard: Shard): T[] {
  return list.filter((_, i) => i % shard.count === shard.index);
}
