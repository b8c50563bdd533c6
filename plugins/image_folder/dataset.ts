/**
 * Classification data in the ImageNet folder layout:
 *
 * ```
 * root/train/<class>/*.jpg|*.jpeg|*.png   (required)
 * root/val/<class>/...                    (required, reported)
 * root/tune/<class>/...                   (optional, for choosing settings)
 * ```
 *
 * Class names are the sub-folders of `train/`, sorted by code point; label
 * `i` is the `i`-th. Every other split must have exactly the same class
 * folders: a class of train missing from val (or tune), or a class folder
 * there that train lacks, is an error naming the folder, because it almost
 * always means a typo or an incomplete copy, and per-class results would
 * silently change meaning. Files are found recursively inside a class
 * folder; names starting with "." and files that are not .jpg/.jpeg/.png
 * are ignored (as torchvision's `ImageFolder` does); an image placed
 * directly in a split folder is an error. An empty class folder is an
 * error. Images are decoded when a sample is loaded: an undecodable file
 * fails with a one-line error naming it.
 */
import { readImage } from "../../image/codec.ts";
import { resizeBilinear } from "../../image/resize.ts";
import type { DataSplits } from "../../core/registry.ts";
import type { Dataset, RawImage, Sample } from "../../core/types.ts";

/** File names treated as images. */
export const IMAGE_FILE = /\.(jpe?g|png)$/i;

/** One split of an image folder: files and their labels. */
export interface ImageFolderIndex {
  /** The split's folder. */
  dir: string;
  /** Class names, index = label. */
  classNames: readonly string[];
  /** Image paths, grouped by class, sorted within a class. */
  files: readonly string[];
  /** Label of each file. */
  labels: Int32Array;
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A folder entry, symbolic links resolved (ImageNet copies often link). */
interface Entry {
  name: string;
  isDirectory: boolean;
}

async function listDir(dir: string): Promise<Entry[]> {
  const raw: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.name.startsWith(".")) raw.push(e);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${dir}: folder not found`);
    }
    throw new Error(
      `${dir}: cannot list: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  const entries: Entry[] = [];
  for (const e of raw) {
    let isDirectory = e.isDirectory;
    if (e.isSymlink) {
      try {
        isDirectory = (await Deno.stat(`${dir}/${e.name}`)).isDirectory;
      } catch (err) {
        throw new Error(
          `${dir}/${e.name}: cannot follow link: ${
            (err as Error).message.split("\n")[0]
          }`,
        );
      }
    }
    entries.push({ name: e.name, isDirectory });
  }
  return entries.sort((a, b) => byCodePoint(a.name, b.name));
}

/** Image files under `dir`, recursively, in sorted order. */
async function imagesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await listDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await imagesUnder(path));
    else if (IMAGE_FILE.test(e.name)) out.push(path);
  }
  return out;
}

/**
 * Indexes split folder `dir`. Without `classes` its sub-folders define the
 * classes; with them (train's), the sub-folders must match exactly.
 */
export async function indexImageFolder(
  dir: string,
  classes?: readonly string[],
): Promise<ImageFolderIndex> {
  const entries = await listDir(dir);
  const stray = entries.find((e) => !e.isDirectory && IMAGE_FILE.test(e.name));
  if (stray) {
    throw new Error(
      `${dir}/${stray.name}: image outside a class folder (expected ${dir}/<class>/${stray.name})`,
    );
  }
  const found = entries.filter((e) => e.isDirectory).map((e) => e.name);
  if (found.length === 0) {
    throw new Error(`${dir}: no class folders (expected ${dir}/<class>/*.jpg)`);
  }
  const classNames = classes ?? found;
  if (classes) {
    const known = new Set(classes);
    const extra = found.find((c) => !known.has(c));
    if (extra !== undefined) {
      throw new Error(
        `${dir}/${extra}: class "${extra}" has no folder in train (classes must match train's)`,
      );
    }
    const have = new Set(found);
    const missing = classes.find((c) => !have.has(c));
    if (missing !== undefined) {
      throw new Error(
        `${dir}/${missing}: missing; train has class "${missing}" (classes must match train's)`,
      );
    }
  }
  const files: string[] = [];
  const labels: number[] = [];
  for (const [label, name] of classNames.entries()) {
    const images = await imagesUnder(`${dir}/${name}`);
    if (images.length === 0) {
      throw new Error(`${dir}/${name}: no images (.jpg, .jpeg or .png)`);
    }
    files.push(...images);
    for (let i = 0; i < images.length; i++) labels.push(label);
  }
  return { dir, classNames, files, labels: Int32Array.from(labels) };
}

/**
 * Resizes the shorter side to `size` and centre-crops a `size` × `size`
 * square (0 keeps the image as decoded).
 */
export function resizeAndCenterCrop(image: RawImage, size: number): RawImage {
  if (size <= 0 || (image.width === size && image.height === size)) {
    return image;
  }
  const scale = size / Math.min(image.width, image.height);
  const w = Math.max(size, Math.round(image.width * scale));
  const h = Math.max(size, Math.round(image.height * scale));
  const resized = resizeBilinear(image, w, h);
  if (w === size && h === size) return resized;
  const x0 = (w - size) >> 1, y0 = (h - size) >> 1, c = image.channels;
  const data = new Uint8Array(size * size * c);
  for (let y = 0; y < size; y++) {
    const from = ((y0 + y) * w + x0) * c;
    data.set(resized.data.subarray(from, from + size * c), y * size * c);
  }
  return { data, width: size, height: size, channels: c };
}

/** A split of an image folder as a dataset of decoded, resized images. */
export class ImageFolderDataset implements Dataset {
  /** Class names, index = label. */
  readonly classNames: readonly string[];
  /** Number of images. */
  readonly size: number;
  readonly #index: ImageFolderIndex;
  readonly #inputSize: number;

  /** Serves `index`, images resized to `inputSize` (0 = as decoded). */
  constructor(index: ImageFolderIndex, inputSize: number) {
    this.#index = index;
    this.classNames = index.classNames;
    this.size = index.files.length;
    this.#inputSize = inputSize;
  }

  /** Path of image `index` inside its split folder (`<class>/<file>`). */
  idOf(index: number): string {
    return this.#index.files[index].slice(this.#index.dir.length + 1);
  }

  /** The class of image `index`, without decoding it. */
  labelsOf(index: number): Int32Array {
    return this.#index.labels.subarray(index, index + 1);
  }

  /** Decodes image `index`; a bad file is a one-line error naming it. */
  async get(index: number): Promise<Sample> {
    if (!(index >= 0 && index < this.size)) {
      throw new RangeError(`index ${index} outside 0..${this.size - 1}`);
    }
    const file = this.#index.files[index];
    const source = await readImage(file);
    const image = resizeAndCenterCrop(source, this.#inputSize);
    return {
      id: this.idOf(index),
      image,
      label: this.#index.labels[index],
      meta: {
        sourceWidth: source.width,
        sourceHeight: source.height,
        scale: image.width / Math.min(source.width, source.height),
        file,
      },
    };
  }
}

/** Loads `root/train`, `root/val` and, when present, `root/tune`. */
export async function loadImageFolderSplits(
  root: string,
  inputSize: number,
): Promise<DataSplits> {
  if (!root) {
    throw new Error(
      "image-folder: set root (a folder with train/<class>/ and val/<class>/)",
    );
  }
  const train = await indexImageFolder(`${root}/train`);
  const val = await indexImageFolder(`${root}/val`, train.classNames);
  const splits: DataSplits = {
    train: new ImageFolderDataset(train, inputSize),
    val: new ImageFolderDataset(val, inputSize),
  };
  let hasTune = true;
  try {
    hasTune = (await Deno.stat(`${root}/tune`)).isDirectory;
  } catch {
    hasTune = false;
  }
  if (hasTune) {
    splits.tune = new ImageFolderDataset(
      await indexImageFolder(`${root}/tune`, train.classNames),
      inputSize,
    );
  }
  return splits;
}
