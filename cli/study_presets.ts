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
import type { Registry } from "../core/registry.ts";
import { ensureSyntheticData } from "../plugins/synthetic/mod.ts";
import { ensureSyntheticSeg } from "../plugins/voc/mod.ts";
import type { InitKind, Method, TaskGrid } from "../study/mod.ts";
import { cpuPreset } from "./study_cpu.ts";
import {
  availableAxes,
  prefixed,
  type PresetOptions,
  type StudyPreset,
} from "./study_preset_common.ts";

export { CPU_BUDGET_SECONDS, estimateGridSeconds } from "./study_cpu.ts";
export {
  type PresetOptions,
  recipeHasKey,
  type StudyPreset,
} from "./study_preset_common.ts";

/** Preset names. */
export const PRESET_NAMES = ["quick", "cpu", "paper"] as const;

/** A preset name. */
export type PresetName = typeof PRESET_NAMES[number];

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
    "model.head.filters": "16",
    "model.head.convs": "1",
    // A detector trained for 2 steps scores about 0.01: keep its boxes.
    "model.head.scoreThreshold": "0.001",
  };
  const segData = {
    "data.root": seg,
    "data.unlabeledImages": `${seg}/JPEGImages`,
    "data.tuneSplit": "tune",
    "data.inputSize": "32",
    "model.filters": "8",
    "model.lowLevelFilters": "8",
  };
  // Two steps of `batchSize` images for section `prefix`.
  const tiny = (prefix: string, batchSize: number) =>
    prefixed(prefix, {
      steps: 2,
      batchSize,
      warmupSteps: 1,
      checkpointEvery: 1,
    });
  const axes = {
    inits: ["random"] as InitKind[],
    methods: ["supervised", "self-training"] as Method[],
    augments: ["S1"],
    fractions: [0.5, 1],
  };
  // A task of the grid: `<recipe>-supervised` and `<recipe>-selftrain`, each
  // with the task's data keys; the teacher trains as the supervised run does.
  const quickTask = (
    data: Record<string, string>,
    recipe: "coco" | "pascal",
    batchSize: number,
    student: Record<string, string>,
  ) => ({
    ...axes,
    overrides: {
      [`${recipe}-supervised`]: { ...data, ...tiny("train", batchSize) },
      [`${recipe}-selftrain`]: {
        ...data,
        ...tiny("teacher", batchSize),
        ...student,
      },
    },
  });
  return {
    jobs: 1,
    notes: [],
    cpuEstimates: true,
    grid: {
      name: "quick",
      seeds: [0],
      design: "full",
      tasks: {
        detection: quickTask(detData, "coco", 4, {
          // 4 human + 4 pseudo: the teacher is the compute-matched baseline.
          ...tiny("student", 8),
          "pseudo.threshold": "0.001",
          "pseudo.batchSize": "4",
        }),
        segmentation: quickTask(segData, "pascal", 2, {
          ...tiny("student", 2),
          "pseudo.batchSize": "2",
        }),
      },
    },
  };
}

/** The paper preset: COCO and PASCAL at the paper's settings. */
function paperPreset(registry: Registry, o: PresetOptions): StudyPreset {
  if (!o.coco || !o.voc || !o.unlabeled) {
    throw new Error(
      "--preset paper needs --coco DIR (COCO 2017: annotations/, train2017/, val2017/), --voc DIR (VOC2012) and --unlabeled DIR (unlabelled images)",
    );
  }
  const notes: string[] = [];
  const det = availableAxes(
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
  const seg = availableAxes(registry, "segmentation", [
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
    "model.head.convs": "4",
    "model.head.filters": "256",
    "model.head.anchorSize": "4",
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
  notes.push(
    "steps are the recipes' defaults (the paper's schedules are not in SPEC): set them with --set teacher.steps=... etc.",
  );
  return {
    jobs: 1,
    notes,
    cpuEstimates: false,
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
      return cpuPreset(registry, o.budgetSeconds);
    case "paper":
      return paperPreset(registry, o);
    default:
      throw new Error(
        `unknown preset "${name}" (${PRESET_NAMES.join(", ")})`,
      );
  }
}
