/**
 * Self-training building blocks (SPEC §2): crash-safe pseudo-label store,
 * pool sharding and shard merge, loss normalisation, human / pseudo batch
 * mixing, and the lock that keeps one process per phase folder.
 *
 * @module
 */
export * from "./coco_file.ts";
export * from "./pseudo_store.ts";
export * from "./shard.ts";
export * from "./normalizer.ts";
export * from "./mixing.ts";
export { sliceTree } from "./tensor_tree.ts";
export * from "./pseudo_labels.ts";
export {
  type BoxFate,
  datasetCategories,
  labelCounts,
  labelPool,
  type LabelPoolInputs,
  type PseudoSection,
} from "./label_pool.ts";
export { PseudoLabeledDataset } from "./pseudo_dataset.ts";
export * from "./run_lock.ts";
