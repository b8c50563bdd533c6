/**
 * Pieces shared by the segmentation recipes: the `data.*` and `model.*`
 * sections, loading VOC or the built-in set, building DeepLabv3+, the
 * augmentation with PASCAL's scale jitter, and mIoU evaluation of a model on
 * a split (with coloured mask overlays of the first images).
 */
import { sequentialBatches } from "../core/data/loader.ts";
import { ConfusionMatrix, type SegmentationMetrics } from "../eval/miou.ts";
import type { EventBus } from "../core/events.ts";
import { writeImage } from "../image/codec.ts";
import { TaskModel } from "../core/model.ts";
import { withInitSeed } from "../core/nn/layers.ts";
import type { ConfigObject } from "../core/config.ts";
import { INIT_DEFAULTS, INIT_HELP, type InitKeys } from "./backbone_init.ts";
import type { Registry } from "../core/registry.ts";
import type { Augmenter } from "../core/contracts.ts";
import type { Dataset, Sample } from "../core/types.ts";
import { overlayMask } from "../plugins/augment/preview.ts";
import {
  letterboxMask,
  type SegmentationDataset,
  type SegSplits,
} from "../plugins/voc/mod.ts";
import { TUNE_PREFIX } from "./detection.ts";
import {
  backboneArgs,
  CPU_SHARED,
  MODEL_CHOICES,
  type ModelBase,
  SHARED_HELP,
  sharedSettings,
} from "./model_config.ts";

/** `data.*` of the segmentation recipes. */
export interface SegDataSection {
  [key: string]: string | number;
  /** `auto` (voc when data.root is set, else synthetic), `synthetic` or `voc`. */
  source: string;
  /** VOC2012 folder (JPEGImages, SegmentationClass, ImageSets/Segmentation). */
  root: string;
  /** Split list of the labelled images. */
  trainSplit: string;
  /** Split list every choice is made on (empty: none). */
  tuneSplit: string;
  /** Split list that is reported. */
  valSplit: string;
  /** Folder of unlabelled images. */
  unlabeledImages: string;
  /** Labelled fraction of the train split kept, in (0, 1] (nested across fractions for one seed). */
  fraction: number;
  /** Square model input (images letterboxed; training crops of this size). */
  inputSize: number;
  /** Smallest scale-jitter factor (PASCAL: 0.2). */
  jitterMin: number;
  /** Largest scale-jitter factor (PASCAL: 1.5). */
  jitterMax: number;
  /** `fail` or `skip`. */
  onError: string;
}

/** Defaults: the built-in set at 64 px, PASCAL's jitter. */
export const SEG_DATA_DEFAULTS: SegDataSection = {
  source: "auto",
  root: "",
  trainSplit: "train",
  tuneSplit: "",
  valSplit: "val",
  unlabeledImages: "",
  fraction: 1,
  inputSize: 64,
  jitterMin: 0.2,
  jitterMax: 1.5,
  onError: "fail",
};

/** Meaning of the `data.*` keys. */
export const SEG_DATA_HELP: Readonly<Record<string, string>> = {
  source:
    "auto (voc when data.root is set, else the built-in synthetic-seg set), synthetic or voc",
  root:
    "VOC2012 folder: JPEGImages/, SegmentationClass/, ImageSets/Segmentation/",
  trainSplit:
    "split list of the labelled images (ImageSets/Segmentation/NAME.txt)",
  tuneSplit: "split list every choice is made on (the built-in set has 'tune')",
  valSplit: "split list that is reported",
  unlabeledImages: "folder of unlabelled JPEG/PNG images (self-training)",
  fraction:
    "fraction of the train split's labels used (same images for the same seed; a smaller fraction is a subset of a larger one)",
  inputSize: "square model input; images letterboxed, training crops this size",
  jitterMin: "smallest scale-jitter factor (PASCAL: 0.2)",
  jitterMax: "largest scale-jitter factor (PASCAL: 1.5)",
  onError:
    "bad data: fail (one-line error naming the file) or skip (counted, reported)",
};

/** `model.*` of the segmentation recipes. */
export interface SegModelSection extends ModelBase, InitKeys {
  /** Backbone with levels 2 and 4 (or 3). */
  backbone: string;
  /** 16 or 8 (the head's, and the backbone's when it has the key). */
  outputStride: number;
  /** ASPP / decoder channels (paper: 256). */
  filters: number;
  /** Channels of the stride-4 projection (paper: 48). */
  lowLevelFilters: number;
}

/** CPU preset: `convnet-seg`, 64 channels (the paper's 256 is a key away). */
export const CPU_SEGMENTER: SegModelSection = {
  backbone: "convnet-seg",
  ...CPU_SHARED,
  outputStride: 16,
  filters: 64,
  lowLevelFilters: 48,
  ...INIT_DEFAULTS,
};

/** Meaning of the `model.*` keys. */
export const SEG_MODEL_HELP: Readonly<Record<string, string>> = {
  backbone:
    "backbone with stride-4 and output-stride features: convnet-seg, efficientnet-seg, spinenet-seg, or a user plugin with levels 2 and 4; its own keys are model.backboneConfig.*",
  ...SHARED_HELP,
  outputStride:
    "16 (ASPP rates 6/12/18) or 8 (rates doubled); also sets a backbone's outputStride key",
  filters: "ASPP and decoder channels (paper: 256)",
  lowLevelFilters: "channels of the stride-4 projection (paper: 48)",
  ...INIT_HELP,
};

/** Choices of the keys both segmentation recipes share. */
export const SEG_COMMON_CHOICES: Readonly<Record<string, readonly string[]>> = {
  "data.onError": ["fail", "skip"],
  ...MODEL_CHOICES,
};

/** Loads the splits named by `data.*`; `seed` picks the labelled fraction. */
export async function loadSegData(
  registry: Registry,
  d: SegDataSection,
  seed: number,
): Promise<SegSplits> {
  const source = d.source === "auto"
    ? (d.root ? "voc" : "synthetic")
    : d.source;
  const common = {
    inputSize: d.inputSize,
    onError: d.onError,
    fraction: d.fraction,
    fractionSeed: seed,
  };
  if (source === "synthetic") {
    return (await registry.create(
      "dataset",
      "synthetic-seg",
      common,
    )) as SegSplits;
  }
  if (source !== "voc") {
    throw new Error(
      `data.source must be auto, synthetic or voc, got "${d.source}"`,
    );
  }
  return (await registry.create("dataset", "voc", {
    ...common,
    root: d.root,
    trainSplit: d.trainSplit,
    tuneSplit: d.tuneSplit,
    valSplit: d.valSplit,
    unlabeledImages: d.unlabeledImages,
  })) as SegSplits;
}

/**
 * Builds backbone + DeepLabv3+ + seg-ce with init seed `seed`;
 * `backboneOverrides` are backbone config keys a pre-trained checkpoint
 * dictates (`recipes/backbone_init.ts`).
 */
export function buildSegmenter(
  registry: Registry,
  m: SegModelSection,
  numClasses: number,
  inputSize: number,
  seed: number,
  backboneOverrides: ConfigObject = {},
): TaskModel {
  const shared = sharedSettings(m);
  return withInitSeed(seed, () => {
    // The head's output stride is the backbone's when it has that key.
    const bb = backboneArgs(m, backboneOverrides);
    if ("outputStride" in bb.config) bb.config.outputStride = m.outputStride;
    const backbone = registry.create("backbone", m.backbone, bb.config, bb.ctx);
    const head = registry.create("head", "deeplabv3plus", {
      outputStride: m.outputStride,
      filters: m.filters,
      lowLevelFilters: m.lowLevelFilters,
    }, {
      channels: backbone.outputChannels,
      numClasses,
      inputSize: [inputSize, inputSize],
      shared,
    });
    return new TaskModel(backbone, head, registry.create("loss", "seg-ce"));
  });
}

/** Augmenter `name` (S1–S4 or a plugin) with PASCAL's jitter and crop. */
export function createSegAugmenter(
  registry: Registry,
  name: string,
  d: SegDataSection,
): Augmenter {
  const declared = registry.get("augmenter", name).defaults;
  const wanted: Record<string, number> = {
    outputSize: d.inputSize,
    jitterMin: d.jitterMin,
    jitterMax: d.jitterMax,
  };
  const config: Record<string, number> = {};
  for (const [k, v] of Object.entries(wanted)) if (k in declared) config[k] = v;
  return registry.create("augmenter", name, config);
}

/** The sample with `mask` (source pixels) letterboxed onto it. */
function withSourceMask(
  s: Sample,
  mask: Uint8Array,
  w: number,
  h: number,
): Sample {
  return { ...s, mask: letterboxMask(mask, w, h, s.image.width) };
}

/**
 * One split's numbers, keys prefixed `prefix`: the summary (`mIoU`,
 * `pixelAccuracy`) and the per-class IoU (`IoU/<class>`; classes in
 * neither ground truth nor prediction have none).
 */
function segMetricRecords(
  m: SegmentationMetrics,
  classNames: readonly string[],
  prefix: string,
): { summary: Record<string, number>; perClass: Record<string, number> } {
  const perClass: Record<string, number> = {};
  m.IoU.forEach((v, k) => {
    if (v !== null) perClass[`${prefix}${IOU_PREFIX}${classNames[k] ?? k}`] = v;
  });
  return {
    summary: {
      [`${prefix}mIoU`]: m.mIoU,
      [`${prefix}pixelAccuracy`]: m.pixelAccuracy,
    },
    perClass,
  };
}

/** Prefix of the per-class IoU keys of a phase's metrics (`IoU/cat`). */
export const IOU_PREFIX = "IoU/";

/**
 * Evaluates `model` on the val split and, when the data has one, the tune
 * split, as detection does: `mIoU`, `pixelAccuracy` and `IoU/<class>` on
 * val, the same keys prefixed `tune/` on tune (choices are made on those,
 * val is only reported). Overlays of the first val images go to
 * `<dir>/<prefix>_<id>.jpg`; `events` gets the val numbers as an `eval`.
 */
export async function evaluateSegSplits(
  model: TaskModel,
  splits: SegSplits,
  dir: string,
  prefix: string,
  events?: EventBus,
): Promise<Record<string, number>> {
  const names = splits.val.classNames;
  const v = await evaluateSegmenter(model, splits.val as SegmentationDataset, {
    dir,
    prefix,
    overlays: 4,
  });
  const val = segMetricRecords(v, names, "");
  events?.emit({
    type: "eval",
    phase: prefix,
    step: 0,
    metrics: { ...val.summary, ...val.perClass },
  });
  const tune = splits.tune
    ? segMetricRecords(
      await evaluateSegmenter(model, splits.tune as SegmentationDataset),
      names,
      TUNE_PREFIX,
    )
    : { summary: {}, perClass: {} };
  // Summaries first: progress lines show a phase's first numbers.
  const out = {
    ...val.summary,
    ...tune.summary,
    ...val.perClass,
    ...tune.perClass,
  };
  return out;
}

/**
 * mIoU, per-class IoU and pixel accuracy of `model` on `data` (masks
 * compared at source resolution); the first `overlays` images are written
 * as `<dir>/<prefix>_<id>.jpg` with the predicted mask blended in.
 */
export async function evaluateSegmenter(
  model: TaskModel,
  data: Dataset & { sourceMask(id: string | number): Promise<Uint8Array> },
  opts: {
    dir?: string;
    prefix?: string;
    overlays?: number;
    batchSize?: number;
  } = {},
): Promise<SegmentationMetrics> {
  const cm = new ConfusionMatrix(data.classNames.length);
  if (opts.dir) await Deno.mkdir(opts.dir, { recursive: true });
  let seen = 0;
  for await (const batch of sequentialBatches(data, opts.batchSize ?? 16)) {
    const preds = await model.predict(batch.images, batch.samples);
    batch.images.dispose();
    for (let i = 0; i < preds.length; i++) {
      const s = batch.samples[i], p = preds[i];
      const gt = s.mask!;
      const g = s.meta;
      // GT at source resolution: the dataset's letterboxed mask is only for
      // training, so compare against the source mask it came from.
      const sourceGt = g && g.scale !== 1 ? await data.sourceMask(s.id) : gt;
      cm.add(sourceGt, p.mask!, String(s.id));
      if (opts.dir && seen < (opts.overlays ?? 0)) {
        await writeImage(
          `${opts.dir}/${opts.prefix ?? "pred"}_${s.id}.jpg`,
          overlayMask(withSourceMask(s, p.mask!, p.width!, p.height!)),
        );
      }
      seen++;
    }
  }
  return cm.metrics();
}
