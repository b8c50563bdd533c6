/**
 * Softmax cross-entropy over pixels with an ignore label (SPEC §7): pixels
 * labelled `IGNORE_LABEL` (255) contribute nothing, and the sum is divided
 * by the number of labelled pixels in the batch (1 when there are none).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Loss, LossResult } from "../../core/contracts.ts";
import type { SpecOf } from "../../core/registry.ts";
import { IGNORE_LABEL } from "../../core/types.ts";

/** Raw outputs of a segmentation head. */
export type SegmentationOutputs = {
  /** `[N, H, W, classes]` logits at the model input size. */
  logits: tf.Tensor4D;
};

/** Encoded targets of a segmentation head. */
export type SegmentationTargets = {
  /** `[N, H, W]` int32 class per pixel, `IGNORE_LABEL` to ignore. */
  labels: tf.Tensor3D;
};

/** Mean softmax cross-entropy over labelled pixels. */
export function segmentationCrossEntropy(
  logits: tf.Tensor4D,
  labels: tf.Tensor3D,
): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[3];
    const valid = tf.notEqual(labels, IGNORE_LABEL);
    const safe = tf.where(valid, labels, tf.zerosLike(labels));
    const onehot = tf.oneHot(tf.cast(safe, "int32"), classes);
    const logp = tf.logSoftmax(logits);
    const perPixel = tf.neg(tf.sum(tf.mul(onehot, logp), -1));
    const weights = tf.cast(valid, "float32");
    const count = tf.maximum(tf.sum(weights), 1);
    return tf.div(tf.sum(tf.mul(perPixel, weights)), count) as tf.Scalar;
  });
}

/** The `seg-ce` loss. */
export class SegmentationLoss
  implements Loss<SegmentationOutputs, SegmentationTargets> {
  /** Registered name. */
  readonly name: string = "seg-ce";

  /** Cross-entropy of the batch; component `ce`. */
  compute(out: SegmentationOutputs, t: SegmentationTargets): LossResult {
    const [, h, w] = out.logits.shape;
    if (t.labels.shape[1] !== h || t.labels.shape[2] !== w) {
      throw new Error(
        `seg-ce: labels are ${t.labels.shape[1]}x${
          t.labels.shape[2]
        }, logits ${h}x${w}`,
      );
    }
    const ce = segmentationCrossEntropy(out.logits, t.labels);
    return { total: ce, components: { ce } };
  }
}

/** Registry entry of `seg-ce`. */
export const segmentationLossSpec: SpecOf<"loss", Record<never, never>> = {
  name: "seg-ce",
  description:
    "per-pixel softmax cross-entropy, ignore label 255, mean over labelled pixels",
  defaults: {},
  create: () => new SegmentationLoss(),
};
