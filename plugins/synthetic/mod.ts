/**
 * Built-in detection data: shapes (circle, square, triangle, cross, ring,
 * star) with random size, colour, texture, occlusion and clutter, generated
 * once per seed and parameters into a COCO-format cache and served through
 * the COCO loader. Registered as the `synthetic-shapes` dataset, the default
 * data of the detection recipes, so they run on a fresh machine.
 */
import {
  type DataSplits,
  definePlugin,
  type Plugin,
  type SpecOf,
} from "../../core/registry.ts";
import { loadCocoSplits } from "../coco/dataset.ts";
import {
  ensureSyntheticData,
  SYNTHETIC_DEFAULTS,
  type SyntheticOptions,
} from "./generate.ts";

export {
  ensureSyntheticData,
  optionsHash,
  SYNTHETIC_DEFAULTS,
  type SyntheticOptions,
  type SyntheticPaths,
  syntheticPaths,
} from "./generate.ts";
export { renderScene, type SceneObject, type SceneOptions } from "./scene.ts";
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
  const gen: Partial<SyntheticOptions> = {};
  for (
    const key of Object.keys(SYNTHETIC_DEFAULTS) as (keyof SyntheticOptions)[]
  ) {
    gen[key] = config[key];
  }
  const paths = await ensureSyntheticData(gen, config.cacheDir);
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

/** Plugin registering `synthetic-shapes`. */
const plugin: Plugin = definePlugin({
  name: "synthetic",
  setup(registry) {
    registry.register("dataset", syntheticShapesDataset);
  },
});

export default plugin;
