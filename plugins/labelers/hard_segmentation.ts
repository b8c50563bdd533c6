/**
 * The `hard-seg` segmentation labeler (SPEC §2): per-pixel argmax of the
 * teacher's probabilities; pixels whose top probability is below `threshold`
 * (default 0.5) get `IGNORE_LABEL` (255). A probability map of another size
 * than `sample.image` (source resolution, output stride, TTA average) is
 * resized bilinearly to the sample first.
 */
import type { Labeler, PseudoLabels } from "../../core/contracts.ts";
import type { PluginSpec } from "../../core/registry.ts";
import {
  IGNORE_LABEL,
  type Prediction,
  type Sample,
} from "../../core/types.ts";
import { emptyPseudoLabels } from "../../selftrain/pseudo_labels.ts";
import { checkSameSample } from "./hard_detection.ts";
import { segmentationProbs } from "./prob_maps.ts";

/** Config of the `hard-seg` labeler. */
export type HardSegmentationConfig = {
  /** Pixels whose top probability is below this are ignored (SPEC: 0.5). */
  threshold: number;
  /**
   * Return `null` when fewer than this fraction of pixels are labelled
   * (0 = keep every image).
   */
  minLabelledFraction: number;
};

/** Defaults of the `hard-seg` labeler. */
export const HARD_SEGMENTATION_DEFAULTS: HardSegmentationConfig = {
  threshold: 0.5,
  minLabelledFraction: 0,
};

/**
 * Argmax mask of a `classes`-per-pixel probability map; pixels whose top
 * probability is below `threshold` get `IGNORE_LABEL`. Ties go to the lower
 * class index.
 */
export function argmaxMask(
  probs: Float32Array,
  classes: number,
  threshold: number,
): Uint8Array {
  if (classes > IGNORE_LABEL) {
    throw new Error(
      `argmaxMask: ${classes} classes do not fit a uint8 mask with ignore label ${IGNORE_LABEL}`,
    );
  }
  const mask = new Uint8Array(probs.length / classes);
  for (let i = 0; i < mask.length; i++) {
    const o = i * classes;
    let best = 0;
    for (let k = 1; k < classes; k++) {
      if (probs[o + k] > probs[o + best]) best = k;
    }
    mask[i] = probs[o + best] >= threshold ? best : IGNORE_LABEL;
  }
  return mask;
}

/**
 * Turns a teacher probability map into hard pseudo-labels: a mask at the
 * size of `sample.image` (label the sample at source size).
 */
export function hardSegmentationLabel(
  prediction: Prediction,
  sample: Sample,
  config: HardSegmentationConfig = HARD_SEGMENTATION_DEFAULTS,
): PseudoLabels | null {
  checkSameSample("hard-seg", prediction, sample);
  const { width, height } = sample.image;
  const map = segmentationProbs("hard-seg", prediction, width, height);
  const mask = argmaxMask(map.probs, map.classes, config.threshold);
  if (config.minLabelledFraction > 0) {
    let labelled = 0;
    for (const v of mask) if (v !== IGNORE_LABEL) labelled++;
    if (labelled < config.minLabelledFraction * mask.length) return null;
  }
  return { ...emptyPseudoLabels(sample.id, width, height), mask };
}

/** Registry entry of the `hard-seg` labeler. */
export const hardSegmentationSpec: PluginSpec<
  HardSegmentationConfig,
  Labeler
> = {
  name: "hard-seg",
  description:
    "segmentation pseudo-labels: per-pixel argmax, top probability < threshold (0.5) -> ignore 255",
  defaults: HARD_SEGMENTATION_DEFAULTS,
  create(config: HardSegmentationConfig): Labeler {
    return {
      name: "hard-seg",
      label: (prediction, sample) =>
        hardSegmentationLabel(prediction, sample, config),
    };
  },
};
