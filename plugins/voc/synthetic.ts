/**
 * The built-in segmentation set: the synthetic shapes scenes with their
 * per-pixel classes (background + one class per shape), written once in the
 * PASCAL VOC layout (JPEG images, VOC-palette PNG masks, split lists) and
 * cached by a hash of the options under `<cacheDir>/synthetic-seg-<hash>/`.
 * Splits train, tune, val and unlabeled are disjoint (each image has its
 * own seed per split). Generation happens in a temporary folder renamed into
 * place, so a crash never leaves a half-written set.
 */
import { encodeJpeg } from "../../image/codec.ts";
import { encodeMaskPng } from "../../image/mask_png.ts";
import { buildFolderOnce } from "../synthetic/cache.ts";
import { Rng, seedFor } from "../../core/rng.ts";
import { optionsHash, type SyntheticOptions } from "../synthetic/generate.ts";
import { renderScene } from "../synthetic/scene.ts";
import { SHAPE_NAMES } from "../synthetic/shapes.ts";

/** Options of the built-in segmentation set (all part of the cache key). */
export interface SyntheticSegOptions extends Omit<SyntheticOptions, "val"> {
  /** Validation images (reported only). */
  val: number;
  /** Tuning images (every choice is made on these). */
  tune: number;
}

/** Defaults sized for a CPU self-training run. */
export const SYNTHETIC_SEG_DEFAULTS: SyntheticSegOptions = {
  seed: 0,
  imageSize: 64,
  classes: 5,
  train: 200,
  tune: 100,
  val: 100,
  unlabeled: 800,
  minObjects: 1,
  maxObjects: 4,
  minSize: 12,
  maxSize: 40,
  minVisible: 0,
  clutter: 6,
  jpegQuality: 90,
};

/** The split names, in generation order. */
export const SEG_SPLITS = ["train", "tune", "val", "unlabeled"] as const;

/** Class names of a set with `classes` shape classes. */
export function syntheticSegClasses(classes: number): string[] {
  return ["background", ...SHAPE_NAMES.slice(0, classes)];
}

/**
 * Returns the VOC-layout root of the set for `options`, generating it when
 * the cache has no complete copy.
 */
export async function ensureSyntheticSeg(
  options: Partial<SyntheticSegOptions> = {},
  cacheDir = ".cache/selftrain",
): Promise<string> {
  const o = { ...SYNTHETIC_SEG_DEFAULTS, ...options };
  if (!(o.classes >= 1 && o.classes <= SHAPE_NAMES.length)) {
    throw new Error(`synthetic-seg: classes must be 1..${SHAPE_NAMES.length}`);
  }
  for (const s of SEG_SPLITS) {
    if (!(Number.isInteger(o[s]) && o[s] >= 0)) {
      throw new Error(`synthetic-seg: ${s} must be a whole number >= 0`);
    }
  }
  const root = `${cacheDir}/synthetic-seg-${optionsHash(o)}`;
  await buildFolderOnce(root, async (tmp) => {
    for (
      const d of ["JPEGImages", "SegmentationClass", "ImageSets/Segmentation"]
    ) {
      await Deno.mkdir(`${tmp}/${d}`, { recursive: true });
    }
    for (const [s, split] of SEG_SPLITS.entries()) {
      const ids: string[] = [];
      for (let i = 0; i < o[split]; i++) {
        const { image, classMap } = renderScene(
          new Rng(seedFor(o.seed, s, i)),
          o,
        );
        const id = `${split}_${String(i).padStart(6, "0")}`;
        await Deno.writeFile(
          `${tmp}/JPEGImages/${id}.jpg`,
          encodeJpeg(image, o.jpegQuality),
        );
        await Deno.writeFile(
          `${tmp}/SegmentationClass/${id}.png`,
          encodeMaskPng({
            data: classMap,
            width: image.width,
            height: image.height,
          }),
        );
        ids.push(id);
      }
      await Deno.writeTextFile(
        `${tmp}/ImageSets/Segmentation/${split}.txt`,
        ids.join("\n") + "\n",
      );
    }
    await Deno.writeTextFile(`${tmp}/options.json`, JSON.stringify(o, null, 2));
  });
  return root;
}
