/**
 * selftrain: pre-training and self-training for detection and segmentation
 * on TensorFlow.js (Zoph et al., "Rethinking Pre-training and
 * Self-training", NeurIPS 2020).
 *
 * The core is small: contracts (`Backbone`, `Head`, `Loss`, `Augmenter`,
 * `Labeler`), the plugin `Registry`, a plain training loop, checkpoints and
 * the recipe runner. Models, augmentation, labelers, backends and the status
 * server are plugins on their own subpaths.
 *
 * @module
 */
export * from "./core/types.ts";
export * from "./core/contracts.ts";
export * from "./core/config.ts";
export * from "./core/registry.ts";
export * from "./core/backend.ts";
export * from "./core/rng.ts";
export * from "./core/events.ts";
export * from "./core/fs.ts";
export * from "./core/nn/module.ts";
export * from "./core/nn/layers.ts";
export { activate } from "./plugins/layers/activations.ts";
export { DepthwiseConv2d } from "./plugins/layers/depthwise.ts";
export * from "./core/model.ts";
export * from "./recipes/phase.ts";
export * from "./cli/progress.ts";
export { loadPlugin } from "./cli/plugins.ts";
export * from "./core/runner.ts";
export * from "./core/data/loader.ts";
export * from "./core/train/checkpoint.ts";
export * from "./core/train/optimizer.ts";
export * from "./core/train/schedule.ts";
export * from "./core/train/loop.ts";
export * from "./core/train/trainer.ts";
export * from "./eval/mod.ts";
export * from "./image/mod.ts";
export * from "./selftrain/mod.ts";
