/**
 * A trained model back from a run folder: find the checkpoint a path means
 * (run, phase, `checkpoints/` or `step-*` folder), the run's `config.json`
 * and `classes.json` above it, rebuild the model from the recipe's
 * `model.*` and `data.inputSize` keys and load the weights. Runs of the
 * segmentation recipes (`SEGMENTATION_RECIPES`) give a DeepLabv3+
 * segmenter, every other run a RetinaNet detector.
 */
import { dirname, resolve } from "node:path";
import { exists, readJson } from "../core/fs.ts";
import type { TaskModel } from "../core/model.ts";
import type { Registry } from "../core/registry.ts";
import { latestCheckpoint } from "../core/train/checkpoint.ts";
import { loadModelWeights } from "./phase.ts";
import type { RetinaNetConfig } from "../plugins/retinanet/config.ts";
import { CPU_DETECTOR } from "./coco_supervised.ts";
import { recordedOverrides } from "./backbone_init.ts";
import type { ConfigObject } from "../core/config.ts";
import {
  buildDetector,
  CLASSES_FILE,
  type DetectorSection,
} from "./detection.ts";
import {
  buildSegmenter,
  CPU_SEGMENTER,
  type SegModelSection,
} from "./segmentation.ts";

/** Recipes whose runs hold a segmenter (DeepLabv3+), not a detector. */
export const SEGMENTATION_RECIPES: readonly string[] = [
  "pascal-selftrain",
  "pascal-supervised",
];

/** Phases tried, in order, when a run folder is given: the final model first. */
export const PREFERRED_PHASES: readonly string[] = [
  "student",
  "teacher",
  "train",
];

/**
 * The `step-*` checkpoint folder `path` stands for: itself (holds
 * `model.json`), the newest under it (a `checkpoints/` folder), the newest of
 * its `checkpoints/` (a phase folder), or of the first of `PREFERRED_PHASES`
 * that has checkpoints (a run folder). Throws a one-line error otherwise.
 */
export async function resolveCheckpoint(path: string): Promise<string> {
  if (!(await exists(path))) {
    throw new Error(`${path}: checkpoint path does not exist`);
  }
  if (await exists(`${path}/model.json`)) return path;
  const roots = [path, `${path}/checkpoints`];
  for (const p of PREFERRED_PHASES) roots.push(`${path}/${p}/checkpoints`);
  for (const root of roots) {
    const found = await latestCheckpoint(root);
    if (found) return found;
  }
  throw new Error(
    `${path}: no checkpoint found (expected a run, phase, checkpoints/ or step-* folder)`,
  );
}

/** The nearest folder at or above `start` holding `config.json`, or a one-line error. */
export async function findRunDir(start: string): Promise<string> {
  let dir = resolve(start);
  while (true) {
    if (await exists(`${dir}/config.json`)) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(
        `${start}: no config.json found in it or any parent folder (not inside a run folder?)`,
      );
    }
    dir = parent;
  }
}

/** What a run's `config.json` and `classes.json` say about its model. */
export type RunModelSpec =
  & {
    /** Run folder. */
    runDir: string;
    /** Recipe that made the run. */
    recipe: string;
    /** Square model input size (`data.inputSize`). */
    inputSize: number;
    /** Class names, index = label (segmentation: 0 is background). */
    classNames: string[];
    /** Backbone config keys its pre-trained init dictated (`init.json`). */
    backboneOverrides?: ConfigObject;
  }
  & (
    | {
      /** A detector. */
      task: "detection";
      /** The recipe's `model.*` section. */
      model: DetectorSection;
    }
    | {
      /** A segmenter. */
      task: "segmentation";
      /** The recipe's `model.*` section. */
      model: SegModelSection;
    }
  );

/** Reads the model description of the run in `runDir`; errors name the file. */
export async function readRunModelSpec(
  runDir: string,
): Promise<RunModelSpec> {
  const file = `${runDir}/config.json`;
  const run = await readJson<{
    recipe?: unknown;
    config?: { model?: unknown; data?: { inputSize?: unknown } };
  }>(file);
  const model = run.config?.model;
  const inputSize = run.config?.data?.inputSize;
  if (
    typeof model !== "object" || model === null ||
    typeof (model as DetectorSection).backbone !== "string" ||
    typeof inputSize !== "number" || !(inputSize > 0)
  ) {
    throw new Error(
      `${file}: no model in it (needs config.model.backbone and config.data.inputSize; recipe "${run.recipe}")`,
    );
  }
  const classesFile = `${runDir}/${CLASSES_FILE}`;
  if (!(await exists(classesFile))) {
    throw new Error(
      `${classesFile}: missing (the run predates it; write the class names as a JSON array)`,
    );
  }
  const classNames = await readJson<unknown>(classesFile);
  if (
    !Array.isArray(classNames) || classNames.length === 0 ||
    !classNames.every((n) => typeof n === "string")
  ) {
    throw new Error(
      `${classesFile}: expected a non-empty array of class names`,
    );
  }
  const common = {
    runDir,
    recipe: String(run.recipe),
    inputSize,
    classNames,
    backboneOverrides: await recordedOverrides(runDir),
  };
  // Keys added to the section after the run was made take their defaults.
  return SEGMENTATION_RECIPES.includes(common.recipe)
    ? {
      ...common,
      task: "segmentation",
      model: {
        ...CPU_SEGMENTER,
        ...(model as SegModelSection),
      } as SegModelSection,
    }
    : {
      ...common,
      task: "detection",
      model: detectorSection(model as Record<string, unknown>),
    };
}

/** Head keys of runs made before `model.head.*`, by their new names. */
const LEGACY_HEAD_KEYS: Readonly<Record<string, string>> = {
  headConvs: "convs",
  headFilters: "filters",
  anchorSize: "anchorSize",
  softNms: "softNms",
  scoreThreshold: "scoreThreshold",
};

/**
 * A run's `model.*` section as this version reads it: keys added after the
 * run was made take their defaults, and the flat head keys of older runs
 * (`model.headConvs`, ...) move to `model.head.*`.
 */
function detectorSection(saved: Record<string, unknown>): DetectorSection {
  const { head, ...rest } = saved;
  const legacy = Object.entries(LEGACY_HEAD_KEYS)
    .filter(([old]) => old in rest)
    .map(([old, key]) => [key, rest[old]]);
  for (const old of Object.keys(LEGACY_HEAD_KEYS)) delete rest[old];
  return {
    ...CPU_DETECTOR,
    ...rest as Partial<DetectorSection>,
    head: {
      ...CPU_DETECTOR.head,
      ...Object.fromEntries(legacy),
      ...head as Partial<RetinaNetConfig>,
    },
  };
}

/** Builds the run's model and loads the checkpoint `stepDir` into it. */
export async function loadTrainedModel(
  registry: Registry,
  spec: RunModelSpec,
  stepDir: string,
): Promise<TaskModel> {
  const classes = spec.classNames.length;
  const { inputSize, backboneOverrides: bo } = spec;
  const model = spec.task === "segmentation"
    ? buildSegmenter(registry, spec.model, classes, inputSize, 0, bo)
    : buildDetector(registry, spec.model, classes, inputSize, 0, bo);
  try {
    await loadModelWeights(model, stepDir);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
