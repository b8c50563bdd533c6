/**
 * Semantic segmentation (SPEC §7): the `deeplabv3plus` head, the `seg-ce`
 * loss and the segmentation backbones `convnet-seg`, `efficientnet-seg` and
 * `spinenet-seg`.
 *
 * ```ts
 * import { Registry } from "@selftrain/selftrain";
 * import deeplab from "@selftrain/selftrain/deeplab";
 * const registry = new Registry().use(deeplab);
 * const backbone = registry.create("backbone", "convnet-seg");
 * const head = registry.create("head", "deeplabv3plus", { filters: 64 }, {
 *   channels: backbone.outputChannels, numClasses: 21, inputSize: [128, 128],
 * });
 * ```
 *
 * @module
 */
import { definePlugin, type Plugin } from "../../core/registry.ts";
import {
  convNetSegSpec,
  efficientNetSegSpec,
  spineNetSegSpec,
} from "./backbones.ts";
import { deepLabHeadSpec } from "./head.ts";
import { segmentationLossSpec } from "./loss.ts";

export * from "./backbones.ts";
export * from "./head.ts";
export * from "./loss.ts";
export * from "./predict.ts";

/** Registers the head, loss and backbones. */
const plugin: Plugin = definePlugin({
  name: "deeplab",
  setup(registry) {
    registry.register("head", deepLabHeadSpec);
    registry.register("loss", segmentationLossSpec);
    registry.register("backbone", convNetSegSpec);
    registry.register("backbone", efficientNetSegSpec);
    registry.register("backbone", spineNetSegSpec);
  },
});

export default plugin;
