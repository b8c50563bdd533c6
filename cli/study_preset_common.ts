/**
 * What the study presets share: their type, and which initialisations and
 * methods the registry can run now (pre-trained inits need their
 * pre-training recipe and `model.init`; joint training needs `joint.*`).
 */
import { flattenConfig } from "../core/config.ts";
import type { Registry } from "../core/registry.ts";
import { resolveConfig } from "../core/runner.ts";
import {
  INIT_KEY,
  type InitKind,
  INITS,
  type Method,
  METHODS,
  type StudyGrid,
  type Task,
} from "../study/mod.ts";

/** A preset: its grid, how many jobs run at once, and notes to print. */
export interface StudyPreset {
  /** The grid. */
  grid: StudyGrid;
  /** Jobs at once by default. */
  jobs: number;
  /** What the preset left out or chose, one line each. */
  notes: string[];
  /** True when the 2-core CPU estimates of `study_cost.ts` apply. */
  cpuEstimates: boolean;
}

/** Options some presets need. */
export interface PresetOptions {
  /** Cache folder of the built-in sets. */
  cacheDir?: string;
  /** COCO 2017 root (`annotations/`, `train2017/`, `val2017/`) for `paper`. */
  coco?: string;
  /** VOC2012 root for `paper`. */
  voc?: string;
  /** Folder of unlabelled images for `paper`. */
  unlabeled?: string;
  /** Wall-time budget of `cpu` in seconds (default `CPU_BUDGET_SECONDS`). */
  budgetSeconds?: number;
}

/** True when recipe `recipe` is registered and has config key `key`. */
export function recipeHasKey(
  registry: Registry,
  recipe: string,
  key: string,
): boolean {
  if (!registry.has("recipe", recipe)) return false;
  return flattenConfig(resolveConfig(registry, recipe)).some(([k]) =>
    k === key
  );
}

/** Recipes a task's methods run. */
function taskRecipes(task: Task, methods: readonly Method[]): string[] {
  return [...new Set(methods.map((m) => METHODS[m].tasks[task]!.recipe))];
}

/**
 * Keeps the inits and methods the registry can run for `task`: pre-trained
 * inits need their pre-training recipe and `model.init` on every recipe;
 * joint training needs `joint.weight` on its recipe.
 */
export function availableAxes(
  registry: Registry,
  task: Task,
  inits: InitKind[],
  methods: Method[],
  notes: string[],
): { inits: InitKind[]; methods: Method[] } {
  const keptMethods = methods.filter((m) => {
    const binding = METHODS[m].tasks[task];
    if (!binding) return false;
    if (
      METHODS[m].joint &&
      !recipeHasKey(registry, binding.recipe, "joint.weight")
    ) {
      notes.push(
        `${task}: no ${m} (${binding.recipe} has no joint.* keys yet)`,
      );
      return false;
    }
    return true;
  });
  const keptInits = inits.filter((i) => {
    const pre = INITS[i].pretrainRecipe;
    if (!pre) return true;
    const missing = !registry.has("recipe", pre)
      ? `recipe ${pre} is not registered`
      : taskRecipes(task, keptMethods).find((r) =>
        !recipeHasKey(registry, r, INIT_KEY)
      );
    if (missing) {
      notes.push(
        `${task}: no ${i} init (${
          missing.startsWith("recipe")
            ? missing
            : `${missing} has no ${INIT_KEY}`
        })`,
      );
      return false;
    }
    return true;
  });
  return {
    inits: keptInits,
    methods: keptInits.some((i) => i !== "random")
      ? keptMethods
      : keptMethods.filter((m) => m !== "pretrain-self-training"),
  };
}

/** `{ steps: 2 }` under `train` → `{ "train.steps": "2" }`. */
export function prefixed(
  prefix: string,
  values: Record<string, number | string>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) => [`${prefix}.${k}`, String(v)]),
  );
}
