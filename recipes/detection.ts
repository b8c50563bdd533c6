/**
 * Pieces shared by the detection recipes: the `data.*` and `model.*`
 * sections, building a RetinaNet from registered plugins, loading data, and
 * COCO evaluation of a model on a split (writing its detections in the COCO
 * results format).
 */
import type { ConfigObject } from "../core/config.ts";
import {
  RETINANET_HELP,
  type RetinaNetConfig,
} from "../plugins/retinanet/config.ts";
import {
  backboneArgs,
  MODEL_CHOICES,
  type ModelBase,
  SHARED_HELP,
  sharedSettings,
} from "./model_config.ts";
import type { Augmenter } from "../core/contracts.ts";
import { sequentialBatches } from "../core/data/loader.ts";
import {
  type CocoMetrics,
  evaluateCoco,
  readCocoDataset,
} from "../eval/mod.ts";
import { join } from "node:path";
import type { EventBus } from "../core/events.ts";
import { writeJsonAtomic } from "../core/fs.ts";
import { TaskModel } from "../core/model.ts";
import { withInitSeed } from "../core/nn/layers.ts";
import type { DataSplits, Registry } from "../core/registry.ts";
import type { Dataset, Prediction } from "../core/types.ts";
import { toCocoResults } from "../plugins/coco/results.ts";
import { prefixKeys } from "./train_config.ts";
import type { CocoSplitsConfig } from "../plugins/coco/dataset.ts";
import { COCO_DATA_DEFAULTS } from "../plugins/coco/mod.ts";
import { writeSampleImages } from "./samples.ts";
import { INIT_HELP, type InitKeys } from "./backbone_init.ts";

/** File in a run folder listing the class names (index = label), read by `deno task predict`. */
export const CLASSES_FILE = "classes.json";

/** Writes `<out>/classes.json` so the run's checkpoints can be used alone. */
export async function writeClassNames(
  out: string,
  classNames: readonly string[],
): Promise<void> {
  await writeJsonAtomic(`${out}/${CLASSES_FILE}`, classNames);
}

/**
 * `data.*`: where detection data comes from: the `coco` dataset's keys
 * (paths, fraction, input size, onError; the seed is the recipe's) plus the
 * source.
 */
export interface DetectionDataSection extends Omit<CocoSplitsConfig, "seed"> {
  [key: string]: string | number;
  /** `auto` (coco when data.train is set, else synthetic), `synthetic` or `coco`. */
  source: string;
}

/**
 * `model.*`: the detector: a backbone plugin with P3–P7 outputs and its
 * own config, the shared settings, the initialisation, and the RetinaNet
 * head's config.
 */
export interface DetectorSection extends ModelBase, InitKeys {
  /** Backbone plugin (P3–P7 outputs). */
  backbone: string;
  /** The `retinanet` head's config (`model.head.*`). */
  head: RetinaNetConfig;
}

/** Defaults sized for a CPU run on the built-in data. */
export const DETECTION_DATA_DEFAULTS: DetectionDataSection = (() => {
  // The coco dataset's defaults, less its seed (the recipe's seed is used).
  const { seed: _seed, ...coco } = COCO_DATA_DEFAULTS;
  return { ...coco, source: "auto", inputSize: 128 };
})();

/** Meaning of the `data.*` keys. */
export const DETECTION_DATA_HELP: Readonly<Record<string, string>> = {
  source:
    "auto (coco when data.train is set, else the built-in synthetic shapes), synthetic or coco",
  train: "COCO instances JSON of the labelled training images",
  trainImages: "folder of the training images",
  val: "COCO instances JSON of the validation images",
  valImages: "folder of the validation images",
  unlabeled:
    "COCO JSON listing unlabelled images (annotations ignored), or empty",
  unlabeledImages: "folder of unlabelled images (JPEG/PNG)",
  tune:
    "COCO instances JSON of a tuning split (optional): choose settings on it, report val",
  tuneImages: "folder of the tuning images",
  fraction: "fraction of training labels used (same images for the same seed)",
  inputSize:
    "square model input; images are resized keeping aspect ratio and padded",
  onError:
    "bad data: fail (one-line error naming the file) or skip (counted, reported)",
};

/** Meaning of the `model.*` keys. */
export const DETECTOR_HELP: Readonly<Record<string, string>> = {
  backbone:
    "backbone plugin with P3-P7 outputs (convnet-fpn, spinenet-*, efficientnet-fpn, or a user plugin); its own keys are model.backboneConfig.*",
  ...SHARED_HELP,
  ...prefixKeys("head", RETINANET_HELP),
  ...INIT_HELP,
};

/** `aug.*`: settings shared by the augmentation levels. */
export interface AugSection {
  [key: string]: number;
  /** RandAugment layers (S4). */
  n: number;
  /** RandAugment magnitude (S4). */
  m: number;
  /** Image size the AutoAugment/RandAugment pixel constants are meant for (0 = absolute pixels). */
  refSize: number;
}

/** Defaults of `aug.*` (RandAugment N=2, M=10 as Model Garden; constants for 640 px). */
export const AUG_DEFAULTS: AugSection = { n: 2, m: 10, refSize: 640 };

/** Meaning of the `aug.*` keys. */
export const AUG_HELP: Readonly<Record<string, string>> = {
  n: "RandAugment layers per image (S4)",
  m: "RandAugment magnitude 0-10 (S4)",
  refSize:
    "image size the AutoAugment/RandAugment pixel constants (translate 250 px, cutout 100 px) are meant for; they scale to the input size (0 = absolute, as the reference)",
};

/** Help of the keys every detection recipe shares: seed, aug.*, data.*, model.*. */
export const DETECTION_COMMON_HELP: Readonly<Record<string, string>> = {
  seed: "seed of data order, label fraction, weight init and augmentation",
  ...prefixKeys("aug", AUG_HELP),
  ...prefixKeys("data", DETECTION_DATA_HELP),
  ...prefixKeys("model", DETECTOR_HELP),
};

/** Choices of the keys every detection recipe shares. */
export const DETECTION_COMMON_CHOICES: Readonly<
  Record<string, readonly string[]>
> = {
  "data.onError": ["fail", "skip"],
  ...MODEL_CHOICES,
};

/** Builds augmenter `name` for `inputSize`, passing the `aug.*` keys it declares. */
export function createAugmenter(
  registry: Registry,
  name: string,
  aug: AugSection,
  inputSize: number,
): Augmenter {
  const declared = registry.get("augmenter", name).defaults;
  const wanted: ConfigObject = { outputSize: inputSize, ...aug };
  const config: ConfigObject = {};
  for (const [k, v] of Object.entries(wanted)) if (k in declared) config[k] = v;
  return registry.create("augmenter", name, config);
}

/** Loads detection splits from the configured source. */
export async function loadDetectionData(
  registry: Registry,
  d: DetectionDataSection,
  seed: number,
): Promise<DataSplits> {
  const source = d.source === "auto"
    ? (d.train ? "coco" : "synthetic")
    : d.source;
  if (source === "coco") {
    const cfg: ConfigObject = { ...d, seed };
    delete cfg.source;
    return await registry.create("dataset", "coco", cfg);
  }
  if (source !== "synthetic") {
    throw new Error(
      `data.source must be auto, synthetic or coco, got "${d.source}"`,
    );
  }
  // The generated set stays fixed; the run's seed picks the labelled fraction.
  return await registry.create("dataset", "synthetic-shapes", {
    fraction: d.fraction,
    fractionSeed: seed,
    inputSize: d.inputSize,
    onError: d.onError,
  });
}

/**
 * Builds a RetinaNet detector with init seed `seed`; `backboneOverrides`
 * are backbone config keys a pre-trained checkpoint dictates
 * (`recipes/backbone_init.ts`).
 */
export function buildDetector(
  registry: Registry,
  m: DetectorSection,
  numClasses: number,
  inputSize: number,
  seed: number,
  backboneOverrides: ConfigObject = {},
): TaskModel {
  const shared = sharedSettings(m);
  return withInitSeed(seed, () => {
    const bb = backboneArgs(m, backboneOverrides);
    const backbone = registry.create("backbone", m.backbone, bb.config, bb.ctx);
    const head = registry.create("head", "retinanet", m.head, {
      channels: backbone.outputChannels,
      numClasses,
      inputSize: [inputSize, inputSize],
      shared,
    });
    return new TaskModel(
      backbone,
      head,
      registry.create("loss", "retinanet-loss"),
    );
  });
}

/** Runs inference over a dataset, reporting progress. */
export async function predictAll(
  model: TaskModel,
  data: Dataset,
  batchSize: number,
  events: EventBus,
  phase: string,
  onBatch?: (
    preds: Prediction[],
    samples: import("../core/types.ts").Sample[],
  ) => Promise<void>,
): Promise<Prediction[]> {
  const all: Prediction[] = [];
  let done = 0;
  for await (const batch of sequentialBatches(data, batchSize)) {
    const preds = await model.predict(batch.images, batch.samples);
    batch.images.dispose();
    if (onBatch) await onBatch(preds, batch.samples);
    else all.push(...preds);
    done += batch.samples.length;
    events.emit({ type: "progress", phase, done, total: data.size });
  }
  return all;
}

/** Prefix of the tune split's numbers in a phase's metrics (`tune/AP`). */
export const TUNE_PREFIX = "tune/";

/** COCO bbox evaluation of `model` on one split; writes its detections to `file`. */
async function evaluateSplit(
  model: TaskModel,
  data: Dataset,
  annotationsFile: string,
  file: string,
  events: EventBus,
  phase: string,
  batchSize: number,
): Promise<CocoMetrics> {
  const gt = await readCocoDataset(annotationsFile);
  const ids = gt.categories.map((c) => c.id).sort((a, b) => a - b);
  events.emit({
    type: "phase-start",
    phase,
    total: data.size,
    unit: "images",
  });
  const preds = await predictAll(model, data, batchSize, events, phase);
  const results = toCocoResults(preds, { toCategoryId: (l) => ids[l] });
  await writeJsonAtomic(file, results, true);
  return evaluateCoco(gt, results).metrics;
}

/**
 * Evaluates `model` with COCO bbox AP on the val split and, when the data
 * has one, the tune split (its numbers keyed `tune/AP`, ...: settings are
 * chosen on those, val is only reported). Writes `detections.json` (COCO
 * results on val; `detections_tune.json` on tune) into `dir`, and the first
 * val images with their detections drawn into
 * `<dir>/../samples/<phase>_<id>.jpg` for the dashboard.
 */
export async function evaluateDetector(
  model: TaskModel,
  splits: DataSplits,
  dir: string,
  events: EventBus,
  phase: string,
  batchSize = 16,
): Promise<Record<string, number>> {
  if (!splits.valAnnotationsFile) {
    throw new Error("detection evaluation needs a COCO val annotations file");
  }
  const evalPhase = `${phase}-eval`;
  const metrics: Record<string, number> = {
    ...await evaluateSplit(
      model,
      splits.val,
      splits.valAnnotationsFile,
      `${dir}/detections.json`,
      events,
      evalPhase,
      batchSize,
    ),
  };
  events.emit({ type: "eval", phase, step: 0, metrics: { ...metrics } });
  if (splits.tune && splits.tuneAnnotationsFile) {
    const tune = await evaluateSplit(
      model,
      splits.tune,
      splits.tuneAnnotationsFile,
      `${dir}/detections_tune.json`,
      events,
      evalPhase,
      batchSize,
    );
    for (const [k, v] of Object.entries(tune)) metrics[TUNE_PREFIX + k] = v;
  }
  events.emit({
    type: "phase-end",
    phase: evalPhase,
    metrics: {},
    skipped: false,
  });
  // Pictures are a convenience: failing to write them must not lose the phase.
  await writeSampleImages(
    model,
    splits.val,
    splits.val.classNames,
    join(dir, "..", "samples"),
    8,
    { prefix: phase },
  ).catch((e) =>
    events.emit({
      type: "log",
      message: `samples: ${(e as Error).message.split("\n")[0]}`,
    })
  );
  return metrics;
}
