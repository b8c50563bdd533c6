/**
 * Element-wise RetinaNet losses, written in log-sigmoid form so that large
 * logits neither overflow nor lose the gradient.
 */
import * as tf from "@tensorflow/tfjs-core";

/** `log(1 + exp(x))` without overflow: `max(x, 0) + log1p(exp(-|x|))`. */
export function stableSoftplus(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(tf.relu(x), tf.log1p(tf.exp(tf.neg(tf.abs(x))))));
}

/**
 * Sigmoid focal loss per element (Lin et al. 2017), unreduced:
 * `α_t (1 - p_t)^γ · CE`, with `p_t` the probability of the target.
 * With `s = x` for targets 1 and `s = -x` for targets 0, `CE = softplus(-s)`
 * and `(1 - p_t)^γ = exp(-γ softplus(s))`. Targets must be 0 or 1.
 */
export function sigmoidFocalLoss(
  logits: tf.Tensor,
  targets: tf.Tensor,
  alpha: number,
  gamma: number,
): tf.Tensor {
  return tf.tidy(() => {
    const sign = tf.sub(tf.mul(targets, 2), 1);
    const s = tf.mul(logits, sign);
    const ce = stableSoftplus(tf.neg(s));
    const modulator = gamma === 0
      ? tf.onesLike(s)
      : tf.exp(tf.mul(stableSoftplus(s), -gamma));
    // α for positives, 1 - α for negatives.
    const alphaT = tf.add(tf.mul(targets, 2 * alpha - 1), 1 - alpha);
    return tf.mul(alphaT, tf.mul(modulator, ce));
  });
}

/**
 * Focal loss with soft targets `y ∈ [0, 1]`, unreduced:
 * `(α y + (1 − α)(1 − y)) · |y − p|^γ · BCE(x, y)`, `BCE = softplus(x) − x y`.
 * For `y` of 0 or 1 it is exactly `sigmoidFocalLoss` (the quality focal
 * loss form of Li et al. 2020, with RetinaNet's α).
 */
export function softFocalLoss(
  logits: tf.Tensor,
  targets: tf.Tensor,
  alpha: number,
  gamma: number,
): tf.Tensor {
  return tf.tidy(() => {
    const ce = tf.sub(stableSoftplus(logits), tf.mul(logits, targets));
    const modulator = gamma === 0
      ? tf.onesLike(ce)
      : tf.pow(tf.abs(tf.sub(targets, tf.sigmoid(logits))), gamma);
    const alphaT = tf.add(tf.mul(targets, 2 * alpha - 1), 1 - alpha);
    return tf.mul(alphaT, tf.mul(modulator, ce));
  });
}

/**
 * Huber loss per element of `diff`: `0.5 d²` for `|d| ≤ δ`, else
 * `δ (|d| - 0.5 δ)` (Keras' definition, used by the reference).
 */
export function huberLoss(diff: tf.Tensor, delta: number): tf.Tensor {
  return tf.tidy(() => {
    const a = tf.abs(diff);
    const q = tf.minimum(a, delta);
    // 0.5 q² + δ (|d| - q) equals both branches.
    return tf.add(tf.mul(tf.square(q), 0.5), tf.mul(tf.sub(a, q), delta));
  });
}
