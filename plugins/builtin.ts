/**
 * The registry with every built-in plugin, recipe and backend: what the CLI
 * starts from before loading `--plugin` files.
 */
import { definePlugin, type Plugin, Registry } from "../core/registry.ts";
import { builtinBackends } from "./backends/index.ts";
import augmentPlugin from "./augment/mod.ts";
import classifierPlugin from "./classifier/mod.ts";
import cocoPlugin from "./coco/mod.ts";
import convnetFpnPlugin from "./convnet_fpn/mod.ts";
import deeplabPlugin from "./deeplab/mod.ts";
import syntheticPlugin from "./synthetic/mod.ts";
import vocPlugin from "./voc/mod.ts";
import efficientnetPlugin from "./efficientnet/mod.ts";
import imageFolderPlugin from "./image_folder/mod.ts";
import labelersPlugin from "./labelers/mod.ts";
import retinanetPlugin from "./retinanet/mod.ts";
import simclrPlugin from "./simclr/mod.ts";
import spinenetPlugin from "./spinenet/mod.ts";
import { builtinRecipes } from "../recipes/mod.ts";

/** Registers the built-in backends and recipes. */
const corePlugin: Plugin = definePlugin({
  name: "builtin",
  setup(registry) {
    for (const b of builtinBackends) registry.register("backend", b);
    for (const r of builtinRecipes) registry.register("recipe", r);
  },
});

/** Plugins installed in every registry made by `createBuiltinRegistry`. */
export const builtinPlugins: readonly Plugin[] = [
  corePlugin,
  classifierPlugin,
  spinenetPlugin,
  efficientnetPlugin,
  convnetFpnPlugin,
  retinanetPlugin,
  deeplabPlugin,
  augmentPlugin,
  labelersPlugin,
  cocoPlugin,
  syntheticPlugin,
  vocPlugin,
  imageFolderPlugin,
  simclrPlugin,
];

/** A fresh registry with all built-in plugins. */
export function createBuiltinRegistry(): Registry {
  const registry = new Registry();
  for (const p of builtinPlugins) registry.use(p);
  return registry;
}
