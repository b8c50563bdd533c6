/**
 * Data types shared by every task: images, samples with their targets,
 * predictions. Plain typed arrays so augmentation, loaders and labelers work
 * without tensors and can run ahead of training.
 */

/** An 8-bit image, height × width × channels, row-major (HWC). */
export interface RawImage {
  /** Pixel bytes, length `height * width * channels`. */
  data: Uint8Array;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Channels per pixel (3 for RGB). */
  channels: number;
}

/** Label value that marks pixels to ignore in segmentation targets. */
export const IGNORE_LABEL = 255;

/**
 * One training or evaluation example. Which target fields are present
 * depends on the task: boxes+labels (detection), mask (segmentation),
 * label or soft (classification). Boxes are `[x1, y1, x2, y2]` in pixels of
 * `image`, four numbers per box.
 */
export interface Sample {
  /** Stable id (COCO image id, file name, index). */
  id: number | string;
  /** The image in its current (possibly augmented) geometry. */
  image: RawImage;
  /** Boxes, `[x1, y1, x2, y2]` per box, flattened. */
  boxes?: Float32Array;
  /** Contiguous class index per box, `0 .. numClasses-1`. */
  labels?: Int32Array;
  /** 1 where a box is a crowd/ignore region, per box. */
  crowd?: Uint8Array;
  /** Teacher confidence per box, for pseudo-labelled samples. */
  scores?: Float32Array;
  /** Per-pixel class, `height * width`, `IGNORE_LABEL` to ignore. */
  mask?: Uint8Array;
  /** Class index, for classification. */
  label?: number;
  /** Probability target per class, for soft (pseudo) labels. */
  soft?: Float32Array;
  /** True when the targets come from a teacher, not a human. */
  pseudo?: boolean;
  /** Geometry bookkeeping to map predictions back to the source image. */
  meta?: SampleMeta;
}

/** How a sample's image relates to the original file. */
export interface SampleMeta {
  /** Original width in pixels. */
  sourceWidth: number;
  /** Original height in pixels. */
  sourceHeight: number;
  /** Model-input pixels per source pixel (resize factor). */
  scale: number;
  /** File the image came from, when known. */
  file?: string;
}

/** A detection of one object, in source-image pixels. */
export interface Detection {
  /** `[x1, y1, x2, y2]` in pixels. */
  box: [number, number, number, number];
  /** Contiguous class index. */
  label: number;
  /** Confidence in [0, 1]. */
  score: number;
}

/** Predictions for one image, whatever the task. */
export interface Prediction {
  /** Id of the sample predicted. */
  id: number | string;
  /** Detections, for detection heads. */
  detections?: Detection[];
  /** Per-pixel argmax class, for segmentation heads. */
  mask?: Uint8Array;
  /** Per-pixel or per-image class probabilities (`[h*w*C]` or `[C]`). */
  probs?: Float32Array;
  /** Mask / probability map width and height, for segmentation. */
  width?: number;
  /** Mask / probability map height. */
  height?: number;
}

/** A random-access set of samples. */
export interface Dataset {
  /** Number of samples. */
  readonly size: number;
  /** Class names, index = contiguous label. */
  readonly classNames: readonly string[];
  /** Loads sample `index` (decoded, not augmented). */
  get(index: number): Promise<Sample>;
  /** Id of sample `index` without decoding it, when the dataset knows it. */
  idOf?(index: number): number | string;
  /** Labels of sample `index` without decoding its image, when known. */
  labelsOf?(index: number): Int32Array;
}
