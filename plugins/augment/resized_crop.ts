/**
 * The standard classification augmentation: random resized crop (as
 * torchvision's `RandomResizedCrop`: area fraction uniform in `scale`,
 * log-uniform aspect ratio in `ratio`, ten tries, then a centre crop of
 * the nearest allowed aspect) resized bilinearly to a square, then a
 * horizontal flip with probability `flip`. Every draw comes from the rng
 * the loader seeds per (seed, epoch, index), so a sample's result depends
 * only on its seed. Image-level only: boxes and masks are refused.
 */
import type { Augmenter } from "../../core/contracts.ts";
import { resizeBilinear } from "../../image/resize.ts";
import type { Rng } from "../../core/rng.ts";
import type { RawImage, Sample } from "../../core/types.ts";
import { cropPlane } from "./cutout.ts";
import { flipHorizontal } from "./geometric.ts";

/** A crop window in pixels: top row, left column, height, width. */
export interface CropWindow {
  /** Top row. */
  top: number;
  /** Left column. */
  left: number;
  /** Height. */
  height: number;
  /** Width. */
  width: number;
}

/** Settings of `RandomResizedCrop`. */
export interface ResizedCropOptions {
  [key: string]: number;
  /** Output side in pixels. */
  outputSize: number;
  /** Smallest crop area as a fraction of the image (torchvision: 0.08). */
  scaleMin: number;
  /** Largest crop area fraction (1). */
  scaleMax: number;
  /** Smallest aspect ratio w/h (3/4). */
  ratioMin: number;
  /** Largest aspect ratio w/h (4/3). */
  ratioMax: number;
  /** Probability of a horizontal flip (0.5). */
  flip: number;
}

/** torchvision's defaults, for a given output size. */
export function resizedCropDefaults(outputSize: number): ResizedCropOptions {
  return {
    outputSize,
    scaleMin: 0.08,
    scaleMax: 1,
    ratioMin: 3 / 4,
    ratioMax: 4 / 3,
    flip: 0.5,
  };
}

/** Draws a crop window for a `width` × `height` image (torchvision's `get_params`). */
export function randomCropWindow(
  rng: Rng,
  width: number,
  height: number,
  o: Pick<
    ResizedCropOptions,
    "scaleMin" | "scaleMax" | "ratioMin" | "ratioMax"
  >,
): CropWindow {
  const area = width * height;
  const logLo = Math.log(o.ratioMin), logHi = Math.log(o.ratioMax);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(o.scaleMin, o.scaleMax);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return {
        top: rng.int(height - h + 1),
        left: rng.int(width - w + 1),
        height: h,
        width: w,
      };
    }
  }
  // Fallback: the whole image, cut to the nearest allowed aspect ratio.
  let w = width, h = height;
  if (width / height < o.ratioMin) h = Math.round(w / o.ratioMin);
  else if (width / height > o.ratioMax) w = Math.round(h * o.ratioMax);
  return {
    top: Math.floor((height - h) / 2),
    left: Math.floor((width - w) / 2),
    height: h,
    width: w,
  };
}

/** Cuts `window` out of `image` and resizes it to `size` × `size`. */
export function cropAndResize(
  image: RawImage,
  window: CropWindow,
  size: number,
): RawImage {
  const { top, left, width, height } = window;
  const cut: RawImage = {
    data: cropPlane(image.data, image.width, image.channels, {
      x0: left,
      y0: top,
      x1: left + width,
      y1: top + height,
    }),
    width,
    height,
    channels: image.channels,
  };
  return resizeBilinear(cut, size, size);
}

function checkOptions(o: ResizedCropOptions): void {
  const ok = o.outputSize >= 1 && o.scaleMin > 0 &&
    o.scaleMax >= o.scaleMin && o.scaleMax <= 1 && o.ratioMin > 0 &&
    o.ratioMax >= o.ratioMin && o.flip >= 0 && o.flip <= 1;
  if (!ok) {
    throw new Error(
      `random-resized-crop: need outputSize >= 1, 0 < scaleMin <= scaleMax <= 1, 0 < ratioMin <= ratioMax, 0 <= flip <= 1; got ${
        JSON.stringify(o)
      }`,
    );
  }
}

/** Random resized crop + horizontal flip, for classification samples. */
export class RandomResizedCrop implements Augmenter {
  /** Registered name. */
  readonly name = "random-resized-crop";
  readonly #o: ResizedCropOptions;

  /** Creates the augmenter. */
  constructor(options: ResizedCropOptions) {
    checkOptions(options);
    this.#o = { ...options };
  }

  /** Crops, resizes and maybe flips the image; the label is kept. */
  apply(sample: Sample, rng: Rng): Sample {
    if (sample.boxes || sample.mask) {
      throw new Error(
        `random-resized-crop: sample ${sample.id} has boxes or a mask; this augmenter is for classification`,
      );
    }
    const { image } = sample;
    const window = randomCropWindow(rng, image.width, image.height, this.#o);
    const out: Sample = {
      ...sample,
      image: cropAndResize(image, window, this.#o.outputSize),
    };
    return rng.bernoulli(this.#o.flip) ? flipHorizontal(out) : out;
  }
}
