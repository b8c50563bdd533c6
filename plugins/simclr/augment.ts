/**
 * One SimCLR view of an image (Chen et al. 2020, appendix A; torchvision's
 * recipe): random resized crop (area 0.08–1, aspect 3/4–4/3) and
 * horizontal flip; with probability 0.8 a colour jitter of strength `s`
 * (brightness, contrast, saturation by factors in [1 − 0.8s, 1 + 0.8s],
 * hue by up to ±0.2s turns, in random order); grey-scale with
 * probability 0.2; Gaussian blur with probability 0.5 (kernel ≈ 10% of
 * the side, σ uniform in [0.1, 2]). Two views of an image are two calls
 * with independent seeds. Deterministic in the rng.
 */
import type { Augmenter } from "../../core/contracts.ts";
import type { Rng } from "../../core/rng.ts";
import type { RawImage, Sample } from "../../core/types.ts";
import { brightness, color, contrast } from "../augment/color.ts";
import { adjustHue, gaussianBlur, grayscale } from "../augment/filters.ts";
import {
  RandomResizedCrop,
  resizedCropDefaults,
} from "../augment/resized_crop.ts";

/** Settings of a SimCLR view, but its size. */
export interface SimClrViewSettings {
  [key: string]: number;
  /** Smallest crop area fraction (0.08). */
  scaleMin: number;
  /** Colour distortion strength s (1 for ImageNet; 0.5 in the CIFAR set-up). */
  strength: number;
  /** Probability of the colour jitter (0.8). */
  jitterProb: number;
  /** Probability of grey-scale (0.2). */
  grayProb: number;
  /** Probability of the Gaussian blur (0.5; SimCLR drops it for CIFAR). */
  blurProb: number;
}

/** Settings of a SimCLR view. */
export interface SimClrViewOptions extends SimClrViewSettings {
  /** Output side in pixels. */
  outputSize: number;
}

/** The paper's ImageNet settings for a given output size. */
export function simclrViewDefaults(outputSize: number): SimClrViewOptions {
  return {
    outputSize,
    scaleMin: 0.08,
    strength: 1,
    jitterProb: 0.8,
    grayProb: 0.2,
    blurProb: 0.5,
  };
}

/** Odd blur kernel of about a tenth of the side (at least 3). */
export function blurKernelSize(side: number): number {
  return 2 * Math.max(1, Math.floor(side / 20)) + 1;
}

/** torchvision's `ColorJitter(0.8s, 0.8s, 0.8s, 0.2s)` of one image. */
export function colorJitter(img: RawImage, s: number, rng: Rng): RawImage {
  const b = 0.8 * s, h = Math.min(0.5, 0.2 * s);
  const factor = () => rng.uniform(Math.max(0, 1 - b), 1 + b);
  const ops: ((x: RawImage) => RawImage)[] = [
    (x) => brightness(x, factor()),
    (x) => contrast(x, factor()),
    (x) => color(x, factor()),
    (x) => adjustHue(x, rng.uniform(-h, h)),
  ];
  let out = img;
  for (const k of rng.shuffle([0, 1, 2, 3])) out = ops[k](out);
  return out;
}

/** The SimCLR view augmenter. */
export class SimClrView implements Augmenter {
  /** Registered name. */
  readonly name = "simclr";
  readonly #o: SimClrViewOptions;
  readonly #crop: RandomResizedCrop;

  /** Creates the augmenter. */
  constructor(options: SimClrViewOptions) {
    const o = options;
    const probs = [o.jitterProb, o.grayProb, o.blurProb];
    if (!(o.strength >= 0) || probs.some((p) => !(p >= 0 && p <= 1))) {
      throw new Error(
        `simclr view: need strength >= 0 and probabilities in [0, 1]; got ${
          JSON.stringify(o)
        }`,
      );
    }
    this.#o = { ...o };
    this.#crop = new RandomResizedCrop({
      ...resizedCropDefaults(o.outputSize),
      scaleMin: o.scaleMin,
    });
  }

  /** One random view of the sample's image; the label is kept. */
  apply(sample: Sample, rng: Rng): Sample {
    const o = this.#o;
    let image = this.#crop.apply(sample, rng).image;
    if (rng.bernoulli(o.jitterProb)) {
      image = colorJitter(image, o.strength, rng);
    }
    if (rng.bernoulli(o.grayProb)) image = grayscale(image);
    if (rng.bernoulli(o.blurProb)) {
      image = gaussianBlur(
        image,
        blurKernelSize(image.width),
        rng.uniform(0.1, 2),
      );
    }
    return { ...sample, image };
  }
}
