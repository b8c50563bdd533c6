/**
 * Training targets of a batch: per anchor, a class code and encoded box
 * offsets, plus the number of positives per image. Built on typed arrays,
 * turned into tensors once per batch.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Sample } from "../../core/types.ts";
import type { AnchorSet } from "./anchors.ts";
import { type BoxScales, encodeBoxInto, UNIT_SCALES } from "./box_coder.ts";
import {
  IGNORE,
  matchAnchorSet,
  type MatchOptions,
  NEGATIVE,
} from "./matcher.ts";

/**
 * Encoded targets (batch-first): `labels` `[N, K]` int32 with the class of a
 * positive anchor, `-1` background or `-2` ignored; `boxes` `[N, K, 4]`
 * offsets `(ty, tx, th, tw)` (zero for non-positives); `numPositives` `[N]`.
 */
export type RetinaTargets = {
  labels: tf.Tensor2D;
  boxes: tf.Tensor3D;
  numPositives: tf.Tensor1D;
  /**
   * Soft class targets `N × K × C` in [0, 1] (a teacher's per-anchor
   * probabilities); when present they replace the one-hot labels in the
   * class loss, over every anchor. Boxes still come from `labels`.
   */
  soft?: tf.Tensor3D;
};

/** The typed-array form of one batch's targets. */
export interface TargetArrays {
  /** `N × K` class codes. */
  labels: Int32Array;
  /** `N × K × 4` offsets. */
  boxes: Float32Array;
  /** Positives per image. */
  numPositives: Float32Array;
}

/** Matches and encodes one batch; one-line errors on malformed samples. */
export function buildTargetArrays(
  samples: readonly Sample[],
  anchors: AnchorSet,
  numClasses: number,
  match: MatchOptions,
  scales: BoxScales = UNIT_SCALES,
): TargetArrays {
  const K = anchors.count, N = samples.length;
  const labels = new Int32Array(N * K);
  const boxes = new Float32Array(N * K * 4);
  const numPositives = new Float32Array(N);
  const [H, W] = anchors.inputSize;
  for (let n = 0; n < N; n++) {
    const s = samples[n];
    const where = `retinanet/targets: sample ${s.id}`;
    if (s.image.height !== H || s.image.width !== W) {
      throw new Error(
        `${where}: image is ${s.image.height}x${s.image.width}, head expects ${H}x${W}`,
      );
    }
    const gt = s.boxes ?? new Float32Array(0);
    const gl = s.labels ?? new Int32Array(0);
    if (gt.length !== gl.length * 4) {
      throw new Error(
        `${where}: ${gt.length / 4} boxes but ${gl.length} labels`,
      );
    }
    if (s.crowd && s.crowd.length !== gl.length) {
      throw new Error(
        `${where}: ${s.crowd.length} crowd flags for ${gl.length} boxes`,
      );
    }
    for (let g = 0; g < gl.length; g++) {
      const isCrowd = s.crowd?.[g] === 1;
      if (!isCrowd && !(gl[g] >= 0 && gl[g] < numClasses)) {
        throw new Error(
          `${where}: label ${gl[g]} outside 0..${numClasses - 1}`,
        );
      }
    }
    const m = matchAnchorSet(anchors, gt, s.crowd, match);
    const base = n * K;
    let pos = 0;
    for (let k = 0; k < K; k++) {
      const g = m[k];
      if (g >= 0) {
        labels[base + k] = gl[g];
        encodeBoxInto(gt, g, anchors.boxes, k, boxes, base + k, scales);
        pos++;
      } else {
        labels[base + k] = g === IGNORE ? IGNORE : NEGATIVE;
      }
    }
    numPositives[n] = pos;
  }
  return { labels, boxes, numPositives };
}

/** Wraps target arrays as tensors (caller owns them). */
export function targetsToTensors(
  a: TargetArrays,
  batch: number,
): RetinaTargets {
  const K = a.labels.length / Math.max(batch, 1);
  return {
    labels: tf.tensor2d(a.labels, [batch, K], "int32"),
    boxes: tf.tensor3d(a.boxes, [batch, K, 4]),
    numPositives: tf.tensor1d(a.numPositives),
  };
}
