/**
 * SimCLR (Chen et al. 2020), the self-supervised pre-training of SPEC §10:
 * the view augmentation (registered as the `simclr` augmenter), the
 * projection MLP, the NT-Xent loss and the model that ties them to a
 * backbone. The `pretrain-simclr` recipe trains it and evaluates the
 * backbone with a linear probe.
 *
 * @module
 */
import type { Augmenter } from "../../core/contracts.ts";
import {
  definePlugin,
  type Plugin,
  type PluginSpec,
} from "../../core/registry.ts";
import {
  SimClrView,
  simclrViewDefaults,
  type SimClrViewOptions,
} from "./augment.ts";

export {
  blurKernelSize,
  colorJitter,
  SimClrView,
  simclrViewDefaults,
  type SimClrViewOptions,
  type SimClrViewSettings,
} from "./augment.ts";
export { SimClrModel, type SimClrOptions, twoViewPlan } from "./model.ts";
export {
  l2Normalize,
  ntXentAccuracy,
  ntXentLoss,
  positiveIndices,
} from "./nt_xent.ts";
export { ProjectionHead, type ProjectionOptions } from "./projection.ts";

/** `simclr`: one SimCLR view of an image. */
export const simclrViewSpec: PluginSpec<SimClrViewOptions, Augmenter> = {
  name: "simclr",
  description: "SimCLR view: crop + flip, colour jitter, grey-scale, blur",
  defaults: simclrViewDefaults(224),
  create: (c) => new SimClrView(c),
};

/** Plugin registering the `simclr` view augmenter. */
const plugin: Plugin = definePlugin({
  name: "simclr",
  setup(registry) {
    registry.register("augmenter", simclrViewSpec);
  },
});

export default plugin;
