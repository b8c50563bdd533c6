/**
 * Built-in detection data: shapes (circle, square, triangle, cross, ring,
 * star) with random size, colour, texture, occlusion and clutter, generated
 * once per seed and parameters into a COCO-format cache and served through
 * the COCO loader. Registered as the `synthetic-shapes` dataset, the default
 * data of the detection recipes, so they run on a fresh machine. Beside it,
 * `synthetic-objects`: the classification set that plays ImageNet's role
 * for it (16 shape classes, one object per image, cached as an image
 * folder and served through `image-folder`), the default data of the
 * pre-training recipes.
 */
import {
  type DataSplits,
  definePlugin,
  type Plugin,
  type SpecOf,
} from "../../core/registry.ts";
import { loadCocoSplits } from "../coco/dataset.ts";
import { generatorOptions } from "./cache.ts";
import { loadImageFolderSplits } from "../image_folder/dataset.ts";
import {
  ensureSyntheticData,
  SYNTHETIC_DEFAULTS,
  type SyntheticOptions,
} from "./generate.ts";
import {
  ensureObjectSet,
  OBJECT_SET_DEFAULTS,
  type ObjectSetOptions,
} from "./objects.ts";

export {
  ensureSyntheticData,
  optionsHash,
  SYNTHETIC_DEFAULTS,
  type SyntheticOptions,
  type SyntheticPaths,
  syntheticPaths,
} from "./generate.ts";
export {
  ensureObjectSet,
  OBJECT_SET_DEFAULTS,
  type ObjectSetOptions,
  renderObjectImage,
} from "./objects.ts";
export {
  paintShape,
  type PlacedShape,
  renderScene,
  type SceneObject,
  type SceneOptions,
} from "./scene.ts";
export { SHAPE_NAMES } from "./shapes.ts";

/** Config of the `synthetic-shapes` dataset: generator options plus loader options. */
export interface SyntheticDataConfig extends SyntheticOptions {
  /** Labelled fraction of train kept. */
  fraction: number;
  /** Seed of the fraction. */
  fractionSeed: number;
  /** Square model input size. */
  inputSize: number;
  /** Cache folder of generated sets. */
  cacheDir: string;
  /** "fail" or "skip". */
  onError: string;
}

/** Defaults of `synthetic-shapes`. */
export const SYNTHETIC_DATA_DEFAULTS: Readonly<SyntheticDataConfig> = {
  ...SYNTHETIC_DEFAULTS,
  fraction: 1,
  fractionSeed: 0,
  inputSize: SYNTHETIC_DEFAULTS.imageSize,
  cacheDir: ".cache/selftrain",
  onError: "fail",
};

/** Generates (or reuses) the set and loads it as train / val / tune / unlabelled splits. */
export async function loadSyntheticSplits(
  config: Readonly<SyntheticDataConfig>,
): Promise<DataSplits> {
  const paths = await ensureSyntheticData(
    generatorOptions(SYNTHETIC_DEFAULTS, config),
    config.cacheDir,
  );
  return loadCocoSplits({
    train: paths.train,
    trainImages: paths.trainImages,
    val: paths.val,
    valImages: paths.valImages,
    unlabeled: paths.unlabeled,
    unlabeledImages: paths.unlabeledImages,
    tune: paths.tune,
    tuneImages: paths.tuneImages,
    fraction: config.fraction,
    seed: config.fractionSeed,
    inputSize: config.inputSize,
    onError: config.onError,
  });
}

/** The `synthetic-shapes` dataset spec. */
export const syntheticShapesDataset: SpecOf<
  "dataset",
  Readonly<SyntheticDataConfig>
> = {
  name: "synthetic-shapes",
  description:
    "built-in shapes detection set (COCO format, cached by seed): train / val / tune / unlabeled",
  defaults: SYNTHETIC_DATA_DEFAULTS,
  create: loadSyntheticSplits,
};

/** Config of `synthetic-objects`: generator options plus loader options. */
export interface SyntheticObjectsConfig extends ObjectSetOptions {
  /** Square model input size. */
  inputSize: number;
  /** Cache folder of generated sets. */
  cacheDir: string;
}

/** Defaults of `synthetic-objects`. */
export const SYNTHETIC_OBJECTS_DEFAULTS: Readonly<SyntheticObjectsConfig> = {
  ...OBJECT_SET_DEFAULTS,
  inputSize: OBJECT_SET_DEFAULTS.imageSize,
  cacheDir: ".cache/selftrain",
};

/** Generates (or reuses) the classification set and loads its splits. */
export async function loadObjectSplits(
  config: Readonly<SyntheticObjectsConfig>,
): Promise<DataSplits> {
  const root = await ensureObjectSet(
    generatorOptions(OBJECT_SET_DEFAULTS, config),
    config.cacheDir,
  );
  return loadImageFolderSplits(root, config.inputSize);
}

/** The `synthetic-objects` dataset spec. */
export const syntheticObjectsDataset: SpecOf<
  "dataset",
  Readonly<SyntheticObjectsConfig>
> = {
  name: "synthetic-objects",
  description:
    "built-in classification set for pre-training (16 shape classes, one object per image, cached image folder): train / tune / val",
  defaults: SYNTHETIC_OBJECTS_DEFAULTS,
  create: loadObjectSplits,
};

/** Plugin registering `synthetic-shapes` and `synthetic-objects`. */
const plugin: Plugin = definePlugin({
  name: "synthetic",
  setup(registry) {
    registry.register("dataset", syntheticShapesDataset);
    registry.register("dataset", syntheticObjectsDataset);
  },
});

export default plugin;
