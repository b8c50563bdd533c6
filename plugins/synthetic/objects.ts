/**
 * The built-in classification set: it plays ImageNet's role for the
 * built-in detection data. Each image is one centred object crop of one of
 * the 16 shapes of `shapes.ts` (the detection classes and ten more), with
 * the detection set's random textures and rotations, over a background of
 * clutter: the detection set's noisy gradient or a faded texture, lines and
 * dots, and sometimes a small distractor shape of another class. Related
 * objects in a different setting, with more classes, as ImageNet is to
 * COCO.
 *
 * Written once per seed and options in the ImageNet folder layout
 * (`train/<class>/*.jpg`, `tune/`, `val/`) under
 * `<cacheDir>/synthetic-objects-<hash>/`, and served through the
 * `image-folder` dataset. Classes are balanced: image `i` of a split is of
 * class `i mod classes`; each image has its own seed (seed, split, i).
 */
import { buildFolderOnce, checkedOptions } from "./cache.ts";
import { encodeJpeg } from "../../image/codec.ts";
import { Rng, seedFor } from "../../core/rng.ts";
import type { RawImage } from "../../core/types.ts";
import { optionsHash } from "./generate.ts";
import { background, clutter, paintShape } from "./scene.ts";
import { randomTexture, SHAPE_NAMES, shapeTest } from "./shapes.ts";

/** Everything that defines the classification set (the cache key). */
export interface ObjectSetOptions {
  /** Seed of the whole set. */
  seed: number;
  /** Image width and height in pixels. */
  imageSize: number;
  /** Number of classes (first n of `SHAPE_NAMES`). */
  classes: number;
  /** Training images per class. */
  trainPerClass: number;
  /** Tuning images per class. */
  tunePerClass: number;
  /** Validation images per class. */
  valPerClass: number;
  /** Object diameter as a fraction of the image side, smallest. */
  minScale: number;
  /** Object diameter as a fraction of the image side, largest. */
  maxScale: number;
  /** Clutter items per image, on average. */
  clutter: number;
  /** Probability of a small distractor shape of another class. */
  distractor: number;
  /** JPEG quality 1-100. */
  jpegQuality: number;
}

/** Defaults: 16 classes, 64 px, 400 / 25 / 50 images per class. */
export const OBJECT_SET_DEFAULTS: ObjectSetOptions = {
  seed: 0,
  imageSize: 64,
  classes: SHAPE_NAMES.length,
  trainPerClass: 400,
  tunePerClass: 25,
  valPerClass: 50,
  minScale: 0.45,
  maxScale: 0.9,
  clutter: 4,
  distractor: 0.3,
  jpegQuality: 90,
};

// Split order fixes each split's seed: new splits go last.
const OBJECT_SPLITS = [
  ["train", "trainPerClass"],
  ["tune", "tunePerClass"],
  ["val", "valPerClass"],
] as const;

/** A faded full-frame texture, so backgrounds are not all gradients. */
function texturedBackground(rng: Rng, size: number): RawImage {
  const base = background(rng, size);
  const texture = randomTexture(rng);
  const zoom = rng.uniform(0.5, 2), fade = rng.uniform(0.3, 0.6);
  const c: [number, number, number] = [0, 0, 0];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      texture((x / size * 2 - 1) * zoom, (y / size * 2 - 1) * zoom, c);
      const o = (y * size + x) * 3;
      for (let k = 0; k < 3; k++) {
        base.data[o + k] = base.data[o + k] * (1 - fade) + c[k] * fade;
      }
    }
  }
  return base;
}

/** Paints a shape of class `label` with diameter `d` centred at (cx, cy). */
function paintObject(
  rng: Rng,
  image: RawImage,
  label: number,
  d: number,
  cx: number,
  cy: number,
): void {
  const inside = shapeTest(label);
  const texture = randomTexture(rng);
  const rx = (d / 2) * rng.uniform(0.85, 1.15);
  const ry = (d / 2) * rng.uniform(0.85, 1.15);
  const rot = rng.uniform(0, 2 * Math.PI);
  paintShape(image, { inside, texture, cx, cy, rx, ry, rot });
}

/** Renders one image of class `label`; deterministic in `rng`'s state. */
export function renderObjectImage(
  rng: Rng,
  o: ObjectSetOptions,
  label: number,
): RawImage {
  const size = o.imageSize;
  const image = rng.bernoulli(0.5)
    ? background(rng, size)
    : texturedBackground(rng, size);
  clutter(rng, image, Math.round(o.clutter * rng.uniform(0.5, 1.5)));
  if (o.classes > 1 && rng.bernoulli(o.distractor)) {
    const other = (label + 1 + rng.int(o.classes - 1)) % o.classes;
    const d = size * rng.uniform(0.15, 0.3);
    paintObject(
      rng,
      image,
      other,
      d,
      rng.uniform(0, size),
      rng.uniform(0, size),
    );
  }
  const d = size * rng.uniform(o.minScale, o.maxScale);
  // The object stays mostly in the frame, off-centre by up to a fifth.
  const shift = () => size / 2 + rng.uniform(-0.2, 0.2) * size;
  paintObject(rng, image, label, d, shift(), shift());
  return image;
}

function checkObjectOptions(o: ObjectSetOptions): void {
  const bad = (msg: string): never => {
    throw new Error(`synthetic-objects: ${msg}`);
  };
  if (!(o.classes >= 2 && o.classes <= SHAPE_NAMES.length)) {
    bad(`classes must be 2..${SHAPE_NAMES.length}`);
  }
  if (!(o.imageSize >= 16)) bad("imageSize must be at least 16");
  if (!(o.minScale > 0 && o.maxScale >= o.minScale && o.maxScale <= 1.2)) {
    bad("need 0 < minScale <= maxScale <= 1.2");
  }
  for (const [split, key] of OBJECT_SPLITS) {
    if (!(Number.isInteger(o[key]) && o[key] >= 0)) {
      bad(`${key} must be a whole number >= 0`);
    }
    if (split !== "tune" && o[key] === 0) bad(`${key} must be at least 1`);
  }
}

/**
 * Returns the root of the set for `options` under `cacheDir`, generating it
 * when the cache has no complete copy.
 */
export async function ensureObjectSet(
  options: Partial<ObjectSetOptions> = {},
  cacheDir = ".cache/selftrain",
): Promise<string> {
  const o = checkedOptions(OBJECT_SET_DEFAULTS, options, checkObjectOptions);
  const root = `${cacheDir}/synthetic-objects-${optionsHash(o)}`;
  const names = SHAPE_NAMES.slice(0, o.classes);
  await buildFolderOnce(root, async (tmp) => {
    for (const [s, [split, key]] of OBJECT_SPLITS.entries()) {
      const count = o[key] * o.classes;
      for (const name of names) {
        if (count > 0) {
          await Deno.mkdir(`${tmp}/${split}/${name}`, { recursive: true });
        }
      }
      for (let i = 0; i < count; i++) {
        const label = i % o.classes;
        const image = renderObjectImage(
          new Rng(seedFor(o.seed, s, i)),
          o,
          label,
        );
        await Deno.writeFile(
          `${tmp}/${split}/${names[label]}/${String(i).padStart(6, "0")}.jpg`,
          encodeJpeg(image, o.jpegQuality),
        );
      }
    }
    await Deno.writeTextFile(`${tmp}/options.json`, JSON.stringify(o, null, 2));
  });
  return root;
}
