/**
 * COCO-format detection data: the `coco` dataset plugin (instances JSON plus
 * image folders, contiguous labels, letterboxed samples, labelled fraction,
 * `onError=fail|skip`) and the results writer.
 *
 * ```ts
 * import cocoPlugin from "@selftrain/selftrain/coco";
 * registry.use(cocoPlugin);
 * const splits = await registry.create("dataset", "coco", { train: "train.json", ... });
 * ```
 */
import { definePlugin, type Plugin, type SpecOf } from "../../core/registry.ts";
import { type CocoSplitsConfig, loadCocoSplits } from "./dataset.ts";

export { CategoryMap } from "./categories.ts";
export {
  type CocoDatasetOptions,
  CocoDetectionDataset,
  type CocoSplitsConfig,
  loadCocoSplits,
  selectFraction,
} from "./dataset.ts";
export {
  type CocoEntry,
  type CocoIndex,
  indexCocoSplit,
  indexImageFolder,
  type IndexOptions,
  LoadReport,
  type OnError,
} from "./indexer.ts";
export {
  type LabelToCategory,
  toCocoResults,
  writeCocoResults,
} from "./results.ts";

/** Default config of the `coco` dataset (paths must be given). */
export const COCO_DATA_DEFAULTS: Readonly<CocoSplitsConfig> = {
  train: "",
  trainImages: "",
  val: "",
  valImages: "",
  unlabeled: "",
  unlabeledImages: "",
  tune: "",
  tuneImages: "",
  fraction: 1,
  seed: 0,
  inputSize: 640,
  onError: "fail",
};

/** The `coco` dataset spec. */
export const cocoDataset: SpecOf<"dataset", Readonly<CocoSplitsConfig>> = {
  name: "coco",
  description:
    "COCO instances JSON + image folders (train/val/tune/unlabeled, fraction, onError=fail|skip)",
  defaults: COCO_DATA_DEFAULTS,
  create: (config) => loadCocoSplits(config),
};

/** Plugin registering the `coco` dataset. */
const plugin: Plugin = definePlugin({
  name: "coco",
  setup(registry) {
    registry.register("dataset", cocoDataset);
  },
});

export default plugin;
