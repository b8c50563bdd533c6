/**
 * The study presets of `deno task study --preset NAME`:
 *
 * - `quick`: 2 methods × 2 labelled fractions per task on tiny built-in
 *   sets with a few steps: the tests' grid, about a minute on 2 cores.
 * - `cpu`: the built-in data, the paper's two sweeps (augmentation S1–S4 at
 *   100% of the labels, fraction 20/50/100% at S4) over 2 seeds, steps
 *   sized so the estimate stays within 3 hours on 2 cores.
 * - `paper`: the paper's axes and settings (SPEC §1, §4, §7) on COCO and
 *   PASCAL VOC, for a GPU cluster (`--coco`, `--voc`, `--unlabeled`).
 *
 * Initialisations other than random, and joint training, join a preset
 * only when the registry has what they need (the pre-training recipes, the
 * `model.init` and `joint.*` keys); the preset's notes say what was left
 * out and why.
 */
import { flattenConfig } from "../core/config.ts";
import type { Registry } from "../core/registry.ts";
import { resolveConfig } from "../core/runner.ts";
import { ensureSyntheticData } from "../plugins/synthetic/mod.ts";
import { ensureSyntheticSeg } from "../plugins/voc/mod.ts";
import {
  enumerateStudy,
  INIT_KEY,
  type InitKind,
  INITS,
  type Method,
  METHODS,
  type StudyGrid,
  type Task,
  type TaskGrid,
} from "../study/mod.ts";
import { estimateJobSeconds, parallelSlowdown } from "./study_cost.ts";

/** Preset names. */
export const PRESET_NAMES = ["quick", "cpu", "paper"] as const;

/** A preset name. */
export type PresetName = typeof PRESET_NAMES[number];

/** A preset: its grid, how many jobs run at once, and notes to print. */
export interface StudyPreset {
  /** The grid. */
  grid: StudyGrid;
  /** Jobs at once by default. */
  jobs: number;
  /** What the preset left out or chose, one line each. */
  notes: string[];
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
}

/** Wall-time budget of the `cpu` preset, with room under its 3 hours. */
export const CPU_BUDGET_SECONDS = 2.75 * 3600;

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
function available(
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

/** `--prefix.steps` etc. for a short training section. */
function trainKeys(
  prefix: string,
  steps: number,
  batch: number,
  extra: Record<string, number> = {},
): Record<string, string> {
  const out: Record<string, string> = {
    [`${prefix}.steps`]: String(steps),
    [`${prefix}.batchSize`]: String(batch),
  };
  for (const [k, v] of Object.entries(extra)) out[`${prefix}.${k}`] = String(v);
  return out;
}

/** The quick preset: tiny sets, a few steps, 2 methods × 2 fractions per task. */
async function quickPreset(o: PresetOptions): Promise<StudyPreset> {
  const cache = o.cacheDir ?? ".cache/selftrain";
  const det = await ensureSyntheticData({
    seed: 0,
    imageSize: 64,
    classes: 3,
    train: 12,
    val: 8,
    unlabeled: 12,
    tune: 6,
    minSize: 12,
    maxSize: 32,
    maxObjects: 2,
    clutter: 2,
  }, cache);
  const seg = await ensureSyntheticSeg({
    imageSize: 32,
    train: 8,
    tune: 4,
    val: 4,
    unlabeled: 6,
    minSize: 8,
    maxSize: 20,
  }, cache);
  const detData = {
    "data.train": det.train,
    "data.trainImages": det.trainImages,
    "data.val": det.val,
    "data.valImages": det.valImages,
    "data.unlabeled": det.unlabeled,
    "data.unlabeledImages": det.unlabeledImages,
    "data.tune": det.tune,
    "data.tuneImages": det.tuneImages,
    "data.inputSize": "64",
    "model.headFilters": "16",
    "model.headConvs": "1",
    // A detector trained for 2 steps scores about 0.01: keep its boxes.
    "model.scoreThreshold": "0.001",
  };
  const segData = {
    "data.root": seg,
    "data.unlabeledImages": `${seg}/JPEGImages`,
    "data.tuneSplit": "tune",
    "data.inputSize": "32",
    "model.filters": "8",
    "model.lowLevelFilters": "8",
  };
  const tiny = { warmupSteps: 1, checkpointEvery: 1 };
  const axes = {
    inits: ["random"] as InitKind[],
    methods: ["supervised", "self-training"] as Method[],
    augments: ["S1"],
    fractions: [0.5, 1],
  };
  return {
    jobs: 1,
    notes: [],
    grid: {
      name: "quick",
      seeds: [0],
      design: "full",
      tasks: {
        detection: {
          ...axes,
          overrides: {
            "coco-supervised": {
              ...detData,
              ...trainKeys("train", 2, 4, tiny),
            },
            "coco-selftrain": {
              ...detData,
              ...trainKeys("teacher", 2, 4, tiny),
              // 4 human + 4 pseudo: the teacher is the compute-matched baseline.
              ...trainKeys("student", 2, 8, tiny),
              "pseudo.threshold": "0.001",
              "pseudo.batchSize": "4",
            },
          },
        },
        segmentation: {
          ...axes,
          overrides: {
            "pascal-supervised": {
              ...segData,
              ...trainKeys("train", 2, 2, tiny),
            },
            "pascal-selftrain": {
              ...segData,
              ...trainKeys("teacher", 2, 2, tiny),
              ...trainKeys("student", 2, 2, tiny),
              "pseudo.batchSize": "2",
            },
          },
        },
      },
    },
  };
}

/** Steps of the cpu preset at scale 1: the recipes' defaults. */
const CPU_FULL_STEPS = {
  detection: { teacher: 1600, student: 1600 },
  segmentation: { teacher: 400, student: 300 },
} as const;

/** The cpu grid with every step count multiplied by `scale`. */
function cpuGrid(
  registry: Registry,
  scale: number,
  notes: string[],
): StudyGrid {
  const steps = (n: number) =>
    String(Math.max(50, Math.round(n * scale / 50) * 50));
  const d = CPU_FULL_STEPS.detection, s = CPU_FULL_STEPS.segmentation;
  const det = available(
    registry,
    "detection",
    ["random", "imagenet", "simclr"],
    ["supervised", "self-training", "pretrain-self-training", "joint"],
    notes,
  );
  const seg = available(
    registry,
    "segmentation",
    ["random", "imagenet", "simclr"],
    ["supervised", "self-training", "pretrain-self-training"],
    notes,
  );
  const detTask: TaskGrid = {
    ...det,
    augments: ["S1", "S2", "S3", "S4"],
    fractions: [0.2, 0.5, 1],
    overrides: {
      "coco-supervised": { "train.steps": steps(d.teacher) },
      "coco-selftrain": {
        "teacher.steps": steps(d.teacher),
        "student.steps": steps(d.student),
      },
    },
  };
  if (det.methods.includes("joint")) {
    // The recipe's own classification set; weight 1 sums the two losses (unconfirmed).
    const c = resolveConfig(registry, "coco-supervised");
    const joint = c.joint as Record<string, string>;
    detTask.joint = { weight: 1, dataset: String(joint.dataset) };
  }
  return {
    name: "cpu",
    seeds: [0, 1],
    design: "paper",
    tasks: {
      detection: detTask,
      segmentation: {
        ...seg,
        augments: ["S1", "S4"],
        fractions: [0.5, 1],
        overrides: {
          "pascal-supervised": { "train.steps": steps(s.teacher) },
          "pascal-selftrain": {
            "teacher.steps": steps(s.teacher),
            "student.steps": steps(s.student),
          },
        },
      },
    },
  };
}

/** Estimated wall seconds of a whole grid with `jobs` at once on 2 cores. */
export function estimateGridSeconds(
  registry: Registry,
  grid: StudyGrid,
  jobs: number,
): number {
  const plan = enumerateStudy(grid, "study");
  const total = [...plan.pretrain, ...plan.cells].reduce(
    (a, j) => a + estimateJobSeconds(registry, j),
    0,
  );
  return total * parallelSlowdown(jobs) / jobs;
}

/**
 * The cpu preset: the largest step scale (a multiple of 0.05, at most the
 * recipes' defaults, at least a quarter of them) whose estimate fits
 * `CPU_BUDGET_SECONDS` with two jobs at once.
 */
function cpuPreset(registry: Registry): StudyPreset {
  const jobs = 2;
  let scale = 1;
  let notes: string[] = [];
  for (; scale > 0.25; scale = Math.round((scale - 0.05) * 100) / 100) {
    notes = [];
    const grid = cpuGrid(registry, scale, notes);
    if (estimateGridSeconds(registry, grid, jobs) <= CPU_BUDGET_SECONDS) break;
  }
  notes = [];
  const grid = cpuGrid(registry, scale, notes);
  const est = estimateGridSeconds(registry, grid, jobs);
  notes.push(
    `steps at ${Math.round(scale * 100)}% of the recipes' defaults to fit ${
      (CPU_BUDGET_SECONDS / 3600).toFixed(2)
    } h` +
      (est > CPU_BUDGET_SECONDS
        ? ` (does NOT fit: estimate ${(est / 3600).toFixed(1)} h)`
        : ""),
  );
  return { grid, jobs, notes };
}

/** The paper preset: COCO and PASCAL at the paper's settings. */
function paperPreset(registry: Registry, o: PresetOptions): StudyPreset {
  if (!o.coco || !o.voc || !o.unlabeled) {
    throw new Error(
      "--preset paper needs --coco DIR (COCO 2017: annotations/, train2017/, val2017/), --voc DIR (VOC2012) and --unlabeled DIR (unlabelled images)",
    );
  }
  const notes: string[] = [];
  const det = available(
    registry,
    "detection",
    ["random", "imagenet", "simclr"],
    [
      "supervised",
      "self-training",
      "pretrain-self-training",
      "joint",
    ],
    notes,
  );
  const seg = available(registry, "segmentation", [
    "random",
    "imagenet",
    "simclr",
  ], [
    "supervised",
    "self-training",
    "pretrain-self-training",
  ], notes);
  const cocoData = {
    "data.train": `${o.coco}/annotations/instances_train2017.json`,
    "data.trainImages": `${o.coco}/train2017`,
    "data.val": `${o.coco}/annotations/instances_val2017.json`,
    "data.valImages": `${o.coco}/val2017`,
    "data.unlabeledImages": o.unlabeled,
    "data.inputSize": "640",
    // The paper's study used EfficientNet-B7 + NAS-FPN; SpineNet-49 is our closest.
    "model.backbone": "spinenet-49",
    "model.headConvs": "4",
    "model.headFilters": "256",
    "model.anchorSize": "4",
    "model.bnMomentum": "0.99",
  };
  const detTrain = { batchSize: 256, lr: 0.32, weightDecay: 1e-4 };
  const vocData = {
    "data.root": o.voc,
    "data.unlabeledImages": o.unlabeled,
    "data.inputSize": "512",
    "model.backbone": "efficientnet-seg",
    "model.filters": "256",
  };
  const detTask: TaskGrid = {
    ...det,
    augments: ["S1", "S2", "S3", "S4"],
    fractions: [0.2, 0.5, 1],
    overrides: {
      "coco-supervised": { ...cocoData, ...prefixed("train", detTrain) },
      "coco-selftrain": {
        ...cocoData,
        ...prefixed("teacher", detTrain),
        ...prefixed("student", detTrain),
        "pseudo.labeler": "hard",
        "pseudo.threshold": "0.5",
        "pseudo.ignoreBelow": "0",
      },
    },
  };
  if (det.methods.includes("joint")) {
    detTask.joint = { weight: 1, dataset: "imagenet" };
  }
  return {
    jobs: 1,
    notes,
    grid: {
      name: "paper",
      seeds: [0, 1, 2],
      design: "paper",
      tasks: {
        detection: detTask,
        segmentation: {
          ...seg,
          augments: ["S1", "S2", "S3", "S4"],
          fractions: [0.5, 1],
          overrides: {
            "pascal-supervised": { ...vocData, "train.batchSize": "256" },
            "pascal-selftrain": {
              ...vocData,
              "teacher.batchSize": "256",
              "student.batchSize": "256",
              "pseudo.tta": "true",
            },
          },
        },
      },
    },
  };
}

function prefixed(
  prefix: string,
  values: Record<string, number>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) => [`${prefix}.${k}`, String(v)]),
  );
}

/** Builds preset `name`. */
export async function buildPreset(
  name: string,
  registry: Registry,
  o: PresetOptions = {},
): Promise<StudyPreset> {
  switch (name) {
    case "quick":
      return await quickPreset(o);
    case "cpu":
      return cpuPreset(registry);
    case "paper":
      return paperPreset(registry, o);
    default:
      throw new Error(
        `unknown preset "${name}" (${PRESET_NAMES.join(", ")})`,
      );
  }
}
