/**
 * Writes the built-in detection set to disk in COCO format — JPEG files plus
 * `train.json`, `val.json`, `unlabeled.json` (images only; the withheld
 * boxes go to `unlabeled_gt.json` for measuring pseudo-label quality) and
 * `tune.json` (for choosing hyper-parameters, so that `val` is only
 * reported) — and
 * caches it by a hash of seed and parameters under
 * `<cacheDir>/synthetic-<hash>/`. Generation happens in a temporary folder
 * renamed into place at the end, so a crash or a concurrent run never
 * leaves a half-written set behind.
 */
import type {
  CocoAnnotation,
  CocoDataset,
  CocoImage,
} from "../../eval/coco_format.ts";
import { buildFolderOnce, checkedOptions } from "./cache.ts";
import { encodeJpeg } from "../../image/codec.ts";
import { Rng, seedFor } from "../../core/rng.ts";
import { renderScene, type SceneOptions } from "./scene.ts";
import { SHAPE_NAMES } from "./shapes.ts";

/** Everything that defines a synthetic set (all part of the cache key). */
export interface SyntheticOptions extends SceneOptions {
  /** Seed of the whole set. */
  seed: number;
  /** Labelled training images. */
  train: number;
  /** Validation images. */
  val: number;
  /** Unlabelled images. */
  unlabeled: number;
  /** Tuning images: every default is chosen on these, never on val. */
  tune: number;
  /** JPEG quality 1-100. */
  jpegQuality: number;
}

/** Defaults sized for a CPU self-training demo. */
export const SYNTHETIC_DEFAULTS: SyntheticOptions = {
  seed: 0,
  imageSize: 128,
  classes: 5,
  train: 400,
  val: 200,
  unlabeled: 1500,
  tune: 200,
  minObjects: 1,
  maxObjects: 4,
  minSize: 14,
  maxSize: 64,
  minVisible: 0.35,
  clutter: 6,
  jpegQuality: 90,
};

/** Where a generated set lives. */
export interface SyntheticPaths {
  /** The set's folder. */
  root: string;
  /** Train instances JSON. */
  train: string;
  /** Train images folder. */
  trainImages: string;
  /** Val instances JSON. */
  val: string;
  /** Val images folder. */
  valImages: string;
  /** Unlabelled instances JSON (images, no annotations). */
  unlabeled: string;
  /** Unlabelled images folder. */
  unlabeledImages: string;
  /** Withheld annotations of the unlabelled split. */
  unlabeledGt: string;
  /** Tune instances JSON. */
  tune: string;
  /** Tune images folder. */
  tuneImages: string;
}

// The index of a split seeds its images: new splits go last, so adding one
// leaves the images of the others unchanged.
const SPLITS = ["train", "val", "unlabeled", "tune"] as const;

function checkOptions(o: SyntheticOptions): void {
  const bad = (msg: string) => {
    throw new Error(`synthetic data: ${msg}`);
  };
  if (!(o.classes >= 1 && o.classes <= SHAPE_NAMES.length)) {
    bad(`classes must be 1..${SHAPE_NAMES.length}`);
  }
  if (!(o.imageSize >= 16)) bad("imageSize must be at least 16");
  if (!(o.minSize >= 4 && o.maxSize >= o.minSize)) {
    bad("need 4 <= minSize <= maxSize");
  }
  if (!(o.minObjects >= 0 && o.maxObjects >= o.minObjects)) {
    bad("need 0 <= minObjects <= maxObjects");
  }
  for (const s of SPLITS) {
    if (!(o[s] >= 0 && Number.isInteger(o[s]))) {
      bad(`${s} must be a whole number >= 0`);
    }
  }
}

/** A short stable hash of the options (the cache key). */
export function optionsHash(o: object): string {
  const text = JSON.stringify(
    Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  const codes = Array.from(text, (ch) => ch.charCodeAt(0));
  return seedFor(...codes).toString(16).padStart(8, "0") +
    seedFor(7, ...codes).toString(16).padStart(8, "0");
}

/** Paths of the set for `o` under `cacheDir` (not necessarily generated yet). */
export function syntheticPaths(
  o: SyntheticOptions,
  cacheDir: string,
): SyntheticPaths {
  const root = `${cacheDir}/synthetic-${optionsHash(o)}`;
  return {
    root,
    train: `${root}/train.json`,
    trainImages: `${root}/train`,
    val: `${root}/val.json`,
    valImages: `${root}/val`,
    unlabeled: `${root}/unlabeled.json`,
    unlabeledImages: `${root}/unlabeled`,
    unlabeledGt: `${root}/unlabeled_gt.json`,
    tune: `${root}/tune.json`,
    tuneImages: `${root}/tune`,
  };
}

/** Renders and writes one split into `dir`; returns its COCO instances. */
async function writeSplit(
  o: SyntheticOptions,
  split: number,
  count: number,
  dir: string,
): Promise<CocoDataset> {
  await Deno.mkdir(dir, { recursive: true });
  const images: CocoImage[] = [];
  const annotations: CocoAnnotation[] = [];
  for (let i = 0; i < count; i++) {
    // Each image has its own seed: changing one split's size leaves others' images alone.
    const rng = new Rng(seedFor(o.seed, split, i));
    const { image, objects } = renderScene(rng, o);
    const id = split * 1_000_000 + i + 1;
    const fileName = `${String(i).padStart(6, "0")}.jpg`;
    await Deno.writeFile(
      `${dir}/${fileName}`,
      encodeJpeg(image, o.jpegQuality),
    );
    images.push({
      id,
      file_name: fileName,
      width: o.imageSize,
      height: o.imageSize,
    });
    for (const ob of objects) {
      annotations.push({
        id: annotations.length + 1 + split * 10_000_000,
        image_id: id,
        category_id: ob.label + 1,
        bbox: ob.bbox,
        area: ob.area,
        iscrowd: ob.iscrowd,
      });
    }
  }
  const categories = SHAPE_NAMES.slice(0, o.classes).map((name, k) => ({
    id: k + 1,
    name,
    supercategory: "shape",
  }));
  return { images, annotations, categories };
}

/**
 * Returns the paths of the set for `options`, generating it first when the
 * cache has no complete copy.
 */
export async function ensureSyntheticData(
  options: Partial<SyntheticOptions> = {},
  cacheDir = ".cache/selftrain",
): Promise<SyntheticPaths> {
  const o = checkedOptions(SYNTHETIC_DEFAULTS, options, checkOptions);
  const paths = syntheticPaths(o, cacheDir);
  await buildFolderOnce(paths.root, async (tmp) => {
    for (const [s, split] of SPLITS.entries()) {
      const coco = await writeSplit(o, s, o[split], `${tmp}/${split}`);
      if (split === "unlabeled") {
        await Deno.writeTextFile(
          `${tmp}/unlabeled_gt.json`,
          JSON.stringify(coco),
        );
        coco.annotations = [];
      }
      await Deno.writeTextFile(`${tmp}/${split}.json`, JSON.stringify(coco));
    }
    await Deno.writeTextFile(`${tmp}/options.json`, JSON.stringify(o, null, 2));
  });
  return paths;
}
