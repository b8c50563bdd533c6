/**
 * Classification data in the ImageNet folder layout (`train/<class>/*.jpg`,
 * `val/<class>/…`, optional `tune/`), registered as the `image-folder`
 * dataset, plus the IDX reader used to turn (Fashion-)MNIST into such a
 * folder (`tools/fashion_mnist.ts`).
 *
 * ```ts
 * import imageFolder from "@selftrain/selftrain/image-folder";
 * registry.use(imageFolder);
 * const splits = await registry.create("dataset", "image-folder", { root: "data/fmnist" });
 * ```
 *
 * @module
 */
import {
  type DataSplits,
  definePlugin,
  type Plugin,
  type PluginSpec,
} from "../../core/registry.ts";
import { loadImageFolderSplits } from "./dataset.ts";

export {
  IMAGE_FILE,
  ImageFolderDataset,
  type ImageFolderIndex,
  indexImageFolder,
  loadImageFolderSplits,
  resizeAndCenterCrop,
} from "./dataset.ts";
export {
  type IdxArray,
  parseIdx,
  readIdxFile,
  writeIdxAsImageFolder,
} from "./idx.ts";

/** Config of the `image-folder` dataset. */
export interface ImageFolderConfig {
  [key: string]: string | number;
  /** Folder holding `train/`, `val/` and optionally `tune/`. */
  root: string;
  /** Square size images are resized (shorter side) and centre-cropped to; 0 keeps them. */
  inputSize: number;
}

/** The `image-folder` dataset spec. */
export const imageFolderDataset: PluginSpec<
  ImageFolderConfig,
  Promise<DataSplits>
> = {
  name: "image-folder",
  description:
    "classification images in the ImageNet layout: root/{train,val,tune}/<class>/*.jpg|png",
  defaults: { root: "", inputSize: 64 },
  create: (c) => loadImageFolderSplits(c.root, c.inputSize),
};

/** Plugin registering `image-folder`. */
const plugin: Plugin = definePlugin({
  name: "image-folder",
  setup(registry) {
    registry.register("dataset", imageFolderDataset);
  },
});

export default plugin;
