/**
 * The `hard` detection labeler (SPEC §2): the teacher's post-processed
 * detections with score ≥ `threshold` (default 0.5) become the pseudo boxes;
 * everything else is dropped. An extra class-wise NMS can be applied (the
 * teacher's head already ran its own NMS; this one is for merged TTA outputs
 * or a stricter IoU).
 *
 * Coordinate convention: `Prediction.detections` and the returned
 * `PseudoLabels` are in SOURCE-image pixels; boxes are clipped to the source
 * image and those with nothing left are dropped. Label samples as loaded
 * (resize only, no flip/crop): augmentation comes after, on the
 * pseudo-labelled sample (`pseudoLabelledSample`), like on a human-labelled
 * one.
 */
import type { Labeler, PseudoLabels } from "../../core/contracts.ts";
import type { PluginSpec } from "../../core/registry.ts";
import type { Detection, Prediction, Sample } from "../../core/types.ts";
import { clipBox, sourceSize } from "../../selftrain/pseudo_labels.ts";
import { classwiseNms } from "./box_ops.ts";

/** Config of the `hard` detection labeler. */
export type HardDetectionConfig = {
  /** Minimum teacher score kept (SPEC §2: 0.5). */
  threshold: number;
  /** Apply an extra class-wise NMS after thresholding. */
  nms: boolean;
  /** IoU above which the extra NMS suppresses a box. */
  nmsIou: number;
  /**
   * The extra NMS across classes: of overlapping boxes of different classes
   * (a teacher unsure of an object's class) only the most confident stays.
   */
  classAgnostic: boolean;
  /** Keep at most this many boxes per image (0 = no limit). */
  maxDetections: number;
  /**
   * Keep images with no box left (they teach "background"); when false the
   * labeler returns `null` for them. The paper does not say (unconfirmed).
   */
  keepEmpty: boolean;
  /**
   * Boxes scoring in `[ignoreBelow, threshold)` are kept as ignore regions
   * (`crowd` = 1): anchors on them are neither positive nor background, so
   * objects the teacher is unsure of are not taught as background. 0 (the
   * default) or a value ≥ `threshold` turns it off: the paper's rule.
   */
  ignoreBelow: number;
};

/** Defaults of the `hard` detection labeler. */
export const HARD_DETECTION_DEFAULTS: HardDetectionConfig = {
  threshold: 0.5,
  nms: false,
  nmsIou: 0.5,
  classAgnostic: false,
  maxDetections: 100,
  keepEmpty: true,
  ignoreBelow: 0,
};

/**
 * The hard-label rule on detections alone, in their own (source) pixels:
 * score threshold, optional class-wise NMS, sort by score, cap. Shared by the
 * labeler and by whatever writes pseudo-label files, so both keep the same
 * boxes.
 */
export function selectHardDetections(
  detections: readonly Detection[],
  config:
    & Pick<
      HardDetectionConfig,
      "threshold" | "nms" | "nmsIou" | "maxDetections"
    >
    & { classAgnostic?: boolean },
): Detection[] {
  const confident = detections.filter((d) => d.score >= config.threshold);
  if (config.nms) {
    return classwiseNms(
      confident,
      config.nmsIou,
      config.maxDetections,
      config.classAgnostic ?? false,
    );
  }
  const sorted = confident.map((d, i) => ({ d, i })).sort((a, b) =>
    b.d.score - a.d.score || a.i - b.i
  ).map((x) => x.d);
  return config.maxDetections > 0
    ? sorted.slice(0, config.maxDetections)
    : sorted;
}

/** Throws when a prediction does not belong to the sample it labels. */
export function checkSameSample(
  labeler: string,
  prediction: Prediction,
  sample: Sample,
): void {
  if (prediction.id !== sample.id) {
    throw new Error(
      `labeler ${labeler}: prediction id ${prediction.id} does not match sample id ${sample.id}`,
    );
  }
}

/** Turns teacher detections on `sample` into hard pseudo-labels. */
export function hardDetectionLabel(
  prediction: Prediction,
  sample: Sample,
  config: HardDetectionConfig = HARD_DETECTION_DEFAULTS,
): PseudoLabels | null {
  checkSameSample("hard", prediction, sample);
  if (!prediction.detections) {
    throw new Error(
      `labeler hard: prediction ${prediction.id} has no detections (not a detection head?)`,
    );
  }
  const { width, height } = sourceSize(sample);
  const kept: {
    box: number[];
    label: number;
    score: number;
    ignore: number;
  }[] = [];
  // Cap after clipping, so boxes outside the sample do not take the slots.
  const ignoreBelow = config.ignoreBelow ?? 0;
  const lowest = ignoreBelow > 0
    ? Math.min(ignoreBelow, config.threshold)
    : config.threshold;
  const selected = selectHardDetections(prediction.detections, {
    ...config,
    threshold: lowest,
    maxDetections: 0,
  });
  let confident = 0;
  for (const d of selected) {
    const box = clipBox(d.box, width, height);
    const ignore = d.score < config.threshold ? 1 : 0;
    if (
      !box ||
      (!ignore && config.maxDetections > 0 && confident >= config.maxDetections)
    ) continue;
    kept.push({ box, label: d.label, score: d.score, ignore });
    confident += 1 - ignore;
  }
  if (confident === 0 && !config.keepEmpty) return null;
  return {
    id: sample.id,
    width,
    height,
    boxes: Float32Array.from(kept.flatMap((k) => k.box)),
    classes: Int32Array.from(kept, (k) => k.label),
    ignore: Uint8Array.from(kept, (k) => k.ignore),
    scores: Float32Array.from(kept, (k) => k.score),
  };
}

/** Registry entry of the `hard` detection labeler. */
export const hardDetectionSpec: PluginSpec<HardDetectionConfig, Labeler> = {
  name: "hard",
  description:
    "detection pseudo-labels: teacher boxes with score >= threshold (default 0.5), optional class-wise NMS",
  defaults: HARD_DETECTION_DEFAULTS,
  create(config: HardDetectionConfig): Labeler {
    return {
      name: "hard",
      label: (prediction, sample) =>
        hardDetectionLabel(prediction, sample, config),
    };
  },
};
