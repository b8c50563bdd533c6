/**
 * Segmentation data: the `voc` dataset (PASCAL VOC 2012 layout plus an
 * optional folder of unlabelled images) and the built-in `synthetic-seg`
 * set (shapes with per-pixel classes; train, tune, val and unlabeled
 * splits, generated once and cached in the VOC layout).
 *
 * @module
 */
import {
  type DataSplits,
  definePlugin,
  type Plugin,
  type SpecOf,
} from "../../core/registry.ts";
import { selectFraction } from "../../core/data/loader.ts";
import { generatorOptions } from "../synthetic/cache.ts";
import type { Dataset } from "../../core/types.ts";
import {
  folderEntries,
  SegmentationDataset,
  VOC_CLASSES,
  vocEntries,
} from "./dataset.ts";
import {
  ensureSyntheticSeg,
  SYNTHETIC_SEG_DEFAULTS,
  syntheticSegClasses,
  type SyntheticSegOptions,
} from "./synthetic.ts";

export * from "./dataset.ts";
export * from "./synthetic.ts";

/** Splits of a segmentation dataset: `DataSplits` plus the tune split. */
export interface SegSplits extends DataSplits {
  /** Split every choice is made on (absent when the data has none). */
  tune?: Dataset;
}

/** Config of the `voc` dataset. */
export interface VocDataConfig {
  /** VOC2012 folder (JPEGImages, SegmentationClass, ImageSets/Segmentation). */
  root: string;
  /** Split list of the labelled images. */
  trainSplit: string;
  /** Split list every choice is made on ("" for none). */
  tuneSplit: string;
  /** Split list that is reported. */
  valSplit: string;
  /** Folder of unlabelled images ("" for none). */
  unlabeledImages: string;
  /** Square model input size. */
  inputSize: number;
  /** Labelled fraction of the train split kept, in (0, 1]. */
  fraction: number;
  /** Seed of the fraction. */
  fractionSeed: number;
  /** "fail" or "skip". */
  onError: string;
}

/** Defaults of the `voc` dataset. */
export const VOC_DATA_DEFAULTS: Readonly<VocDataConfig> = {
  root: "",
  trainSplit: "train",
  tuneSplit: "",
  valSplit: "val",
  unlabeledImages: "",
  inputSize: 128,
  fraction: 1,
  fractionSeed: 0,
  onError: "fail",
};

/**
 * Opens a VOC-layout root (`root/JPEGImages`, …) as segmentation splits;
 * train keeps the labelled `fraction` chosen by `fractionSeed` (nested:
 * the 20% subset lies inside the 50% one for the same seed).
 */
export async function loadVocSplits(
  c: Readonly<VocDataConfig>,
  classNames: readonly string[] = VOC_CLASSES,
  unlabeledSplit = "",
): Promise<SegSplits> {
  const root = c.root;
  if (!root) throw new Error("voc: set data.root to the VOC2012 folder");
  const o = { inputSize: c.inputSize, onError: c.onError, classNames };
  const open = async (split: string) =>
    await SegmentationDataset.open(await vocEntries(root, split), o);
  // The labelled fraction is cut from the listing, before masks are checked.
  const trainEntries = selectFraction(
    await vocEntries(root, c.trainSplit),
    c.fraction,
    c.fractionSeed,
  );
  const splits: SegSplits = {
    train: await SegmentationDataset.open(trainEntries, o),
    val: await open(c.valSplit),
  };
  if (c.tuneSplit) splits.tune = await open(c.tuneSplit);
  const folder = c.unlabeledImages;
  if (folder || unlabeledSplit) {
    const entries = folder
      ? await folderEntries(folder)
      : (await vocEntries(root, unlabeledSplit)).map(({ id, image }) => ({
        id,
        image,
      }));
    splits.unlabeled = await SegmentationDataset.open(entries, o);
  }
  return splits;
}

/** The `voc` dataset spec. */
export const vocDataset: SpecOf<"dataset", Readonly<VocDataConfig>> = {
  name: "voc",
  description:
    "PASCAL VOC 2012 layout (JPEGImages, SegmentationClass, ImageSets/Segmentation) + unlabelled image folder",
  defaults: VOC_DATA_DEFAULTS,
  create: (c) => loadVocSplits(c),
};

/** Config of `synthetic-seg`: generator options plus loader options. */
export interface SyntheticSegDataConfig extends SyntheticSegOptions {
  /** Square model input size. */
  inputSize: number;
  /** Labelled fraction of the train split kept, in (0, 1]. */
  fraction: number;
  /** Seed of the fraction. */
  fractionSeed: number;
  /** Cache folder of generated sets. */
  cacheDir: string;
  /** "fail" or "skip". */
  onError: string;
}

/** Defaults of `synthetic-seg`. */
export const SYNTHETIC_SEG_DATA_DEFAULTS: Readonly<SyntheticSegDataConfig> = {
  ...SYNTHETIC_SEG_DEFAULTS,
  inputSize: SYNTHETIC_SEG_DEFAULTS.imageSize,
  fraction: 1,
  fractionSeed: 0,
  cacheDir: ".cache/selftrain",
  onError: "fail",
};

/** Generates (or reuses) the built-in set and opens its four splits. */
export async function loadSyntheticSegSplits(
  c: Readonly<SyntheticSegDataConfig>,
): Promise<SegSplits> {
  const root = await ensureSyntheticSeg(
    generatorOptions(SYNTHETIC_SEG_DEFAULTS, c),
    c.cacheDir,
  );
  return await loadVocSplits(
    {
      root,
      trainSplit: "train",
      tuneSplit: "tune",
      valSplit: "val",
      unlabeledImages: "",
      inputSize: c.inputSize,
      fraction: c.fraction,
      fractionSeed: c.fractionSeed,
      onError: c.onError,
    },
    syntheticSegClasses(c.classes),
    "unlabeled",
  );
}

/** The `synthetic-seg` dataset spec. */
export const syntheticSegDataset: SpecOf<
  "dataset",
  Readonly<SyntheticSegDataConfig>
> = {
  name: "synthetic-seg",
  description:
    "built-in shapes segmentation set (VOC layout, cached by seed): train / tune / val / unlabeled",
  defaults: SYNTHETIC_SEG_DATA_DEFAULTS,
  create: loadSyntheticSegSplits,
};

/** Registers `voc` and `synthetic-seg`. */
const plugin: Plugin = definePlugin({
  name: "voc",
  setup(registry) {
    registry.register("dataset", vocDataset);
    registry.register("dataset", syntheticSegDataset);
  },
});

export default plugin;
