/**
 * Writes Fashion-MNIST (70,000 real 28×28 grey images, 10 classes) as an
 * ImageNet-layout image folder of PNG files, so it trains and evaluates
 * through the `image-folder` dataset like any other classification data:
 *
 *   apt-get install dataset-fashion-mnist      # Debian: the IDX files
 *   deno task fashion-mnist [--src=DIR] [--out=DIR] [--tune=5000]
 *   deno task recipe pretrain-supervised --data.root=.cache/selftrain/fashion-mnist
 *
 * `train/` holds the first 60,000 − tune training images, `tune/` the last
 * `tune` (the IDX training order is already shuffled), `val/` the 10,000
 * test images. Class folders are `0_tshirt_top` … `9_ankle_boot`, so their
 * sorted order is the original label order. The folder is written under a
 * temporary name and renamed when complete; an existing complete folder is
 * left alone.
 */
import { parseArgs } from "node:util";
import { buildFolderOnce } from "../plugins/synthetic/cache.ts";
import {
  readIdxFile,
  writeIdxAsImageFolder,
} from "../plugins/image_folder/idx.ts";

/** Fashion-MNIST's classes, in label order, as folder names. */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  "0_tshirt_top",
  "1_trouser",
  "2_pullover",
  "3_dress",
  "4_coat",
  "5_sandal",
  "6_shirt",
  "7_sneaker",
  "8_bag",
  "9_ankle_boot",
];

const { values } = parseArgs({
  options: {
    src: { type: "string", default: "/usr/share/datasets/fashion-mnist" },
    out: { type: "string", default: ".cache/selftrain/fashion-mnist" },
    tune: { type: "string", default: "5000" },
  },
});
const src = values.src!, out = values.out!, tune = Number(values.tune);

const file = (name: string) => `${src}/${name}-ubyte.gz`;
try {
  const built = await buildFolderOnce(out, async (tmp) => {
    const trainImages = await readIdxFile(file("train-images-idx3"));
    const trainLabels = await readIdxFile(file("train-labels-idx1"));
    const n = trainImages.dims[0];
    if (!(Number.isInteger(tune) && tune >= 0 && tune < n)) {
      throw new Error(`--tune must be a whole number in 0..${n - 1}`);
    }
    const range = (a: number, b: number) =>
      Array.from({ length: b - a }, (_, i) => a + i);
    await writeIdxAsImageFolder(
      trainImages,
      trainLabels,
      FASHION_MNIST_CLASSES,
      `${tmp}/train`,
      range(0, n - tune),
    );
    if (tune > 0) {
      await writeIdxAsImageFolder(
        trainImages,
        trainLabels,
        FASHION_MNIST_CLASSES,
        `${tmp}/tune`,
        range(n - tune, n),
      );
    }
    const testImages = await readIdxFile(file("t10k-images-idx3"));
    const testLabels = await readIdxFile(file("t10k-labels-idx1"));
    await writeIdxAsImageFolder(
      testImages,
      testLabels,
      FASHION_MNIST_CLASSES,
      `${tmp}/val`,
      range(0, testImages.dims[0]),
    );
  });
  console.log(`${out}: ${built ? "written" : "already complete"}`);
} catch (e) {
  console.error((e as Error).message.split("\n")[0]);
  Deno.exit(1);
}
