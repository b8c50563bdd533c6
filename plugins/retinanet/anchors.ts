/**
 * Multi-level anchor boxes for RetinaNet (SPEC §4): levels `minLevel ..
 * maxLevel`, `numScales` octave scales `2^(i/numScales)` × aspect ratios
 * (width / height), base size `anchorSize × stride`. The order matches the
 * head's flattened output: level-major, then row, column, and within a
 * location scale-major then aspect ratio, as tensorflow/tpu `anchor.py`.
 */

/** What defines an anchor set (independent of the image). */
export interface AnchorOptions {
  /** Lowest pyramid level (stride `2**minLevel`). */
  minLevel: number;
  /** Highest pyramid level. */
  maxLevel: number;
  /** Octave scales per level (3 gives 2^0, 2^(1/3), 2^(2/3)). */
  numScales: number;
  /** Aspect ratios, width / height. */
  aspectRatios: readonly number[];
  /** Base anchor side as a multiple of the stride. */
  anchorSize: number;
}

/** Where one level's anchors lie in the flattened anchor list. */
export interface AnchorLevel {
  /** Pyramid level. */
  level: number;
  /** Stride in input pixels. */
  stride: number;
  /** Feature-map rows. */
  height: number;
  /** Feature-map columns. */
  width: number;
  /** Index of the level's first anchor. */
  offset: number;
  /** Number of anchors on this level (`height * width * perLocation`). */
  count: number;
}

/** All anchors of one input size. */
export interface AnchorSet {
  /** `[x1, y1, x2, y2]` per anchor in input pixels, flattened. */
  boxes: Float32Array;
  /** Total anchors. */
  count: number;
  /** Anchors per feature-map location. */
  perLocation: number;
  /** Per-level layout. */
  levels: AnchorLevel[];
  /** Input size `[height, width]` the anchors were made for. */
  inputSize: readonly [number, number];
}

/** Checks anchor options; throws a one-line error naming the bad value. */
export function validateAnchorOptions(o: AnchorOptions): void {
  const where = "retinanet/anchors";
  if (!Number.isInteger(o.minLevel) || !Number.isInteger(o.maxLevel)) {
    throw new Error(`${where}: minLevel and maxLevel must be integers`);
  }
  if (o.minLevel < 1 || o.maxLevel < o.minLevel) {
    throw new Error(
      `${where}: need 1 <= minLevel <= maxLevel, got ${o.minLevel}..${o.maxLevel}`,
    );
  }
  if (!Number.isInteger(o.numScales) || o.numScales < 1) {
    throw new Error(`${where}: numScales must be a positive integer`);
  }
  if (
    o.aspectRatios.length === 0 ||
    o.aspectRatios.some((a) => !(a > 0) || !Number.isFinite(a))
  ) {
    throw new Error(
      `${where}: aspectRatios must be positive numbers, got [${o.aspectRatios}]`,
    );
  }
  if (!(o.anchorSize > 0)) {
    throw new Error(`${where}: anchorSize must be > 0, got ${o.anchorSize}`);
  }
}

/**
 * Feature-map size of a level: `ceil(size / stride)`, what a chain of
 * stride-2 `same` convolutions gives; equal to the reference's
 * `size / stride` when the size is divisible by the largest stride.
 */
export function levelSize(size: number, level: number): number {
  return Math.ceil(size / 2 ** level);
}

/** Generates the anchors of an input size. */
export function generateAnchors(
  opts: AnchorOptions,
  inputSize: readonly [number, number],
): AnchorSet {
  validateAnchorOptions(opts);
  const [imgH, imgW] = inputSize;
  if (!(imgH > 0 && imgW > 0)) {
    throw new Error(`retinanet/anchors: bad input size [${inputSize}]`);
  }
  const perLocation = opts.numScales * opts.aspectRatios.length;
  // Half-extents of each anchor shape at stride 1, in location order.
  const halfW: number[] = [];
  const halfH: number[] = [];
  for (let s = 0; s < opts.numScales; s++) {
    const base = opts.anchorSize * 2 ** (s / opts.numScales);
    for (const ar of opts.aspectRatios) {
      halfW.push(base * Math.sqrt(ar) / 2);
      halfH.push(base / Math.sqrt(ar) / 2);
    }
  }
  const levels: AnchorLevel[] = [];
  let total = 0;
  for (let l = opts.minLevel; l <= opts.maxLevel; l++) {
    const height = levelSize(imgH, l);
    const width = levelSize(imgW, l);
    const count = height * width * perLocation;
    levels.push({
      level: l,
      stride: 2 ** l,
      height,
      width,
      offset: total,
      count,
    });
    total += count;
  }
  const boxes = new Float32Array(total * 4);
  let k = 0;
  for (const lv of levels) {
    for (let y = 0; y < lv.height; y++) {
      const cy = (y + 0.5) * lv.stride;
      for (let x = 0; x < lv.width; x++) {
        const cx = (x + 0.5) * lv.stride;
        for (let a = 0; a < perLocation; a++) {
          const hw = halfW[a] * lv.stride;
          const hh = halfH[a] * lv.stride;
          boxes[k++] = cx - hw;
          boxes[k++] = cy - hh;
          boxes[k++] = cx + hw;
          boxes[k++] = cy + hh;
        }
      }
    }
  }
  return { boxes, count: total, perLocation, levels, inputSize: [imgH, imgW] };
}

/** Memoises anchor sets per input size (anchors are fixed per size). */
export class AnchorCache {
  readonly #opts: AnchorOptions;
  readonly #sets = new Map<string, AnchorSet>();

  /** Validates the options once. */
  constructor(opts: AnchorOptions) {
    validateAnchorOptions(opts);
    this.#opts = { ...opts, aspectRatios: [...opts.aspectRatios] };
  }

  /** Anchor options in use. */
  get options(): AnchorOptions {
    return this.#opts;
  }

  /** Anchors per feature-map location. */
  get perLocation(): number {
    return this.#opts.numScales * this.#opts.aspectRatios.length;
  }

  /** The anchors of `inputSize`, generated on first use. */
  get(inputSize: readonly [number, number]): AnchorSet {
    const key = `${inputSize[0]}x${inputSize[1]}`;
    let set = this.#sets.get(key);
    if (!set) {
      set = generateAnchors(this.#opts, inputSize);
      this.#sets.set(key, set);
    }
    return set;
  }
}
