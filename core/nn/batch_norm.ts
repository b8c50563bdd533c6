/**
 * Training-mode batch normalisation as one differentiable op. Written as
 * `tf.moments` + `tf.batchNorm`, tfjs differentiates through every piece
 * (the mean's gradient alone builds a ones tensor the size of `x`) and a
 * training step spends about twenty full passes over each activation on
 * batch norm. The closed-form gradient below needs seven:
 *   x̂ = (x − μ)·σ⁻¹,  dβ = Σ dy,  dγ = Σ dy·x̂,
 *   dx = γσ⁻¹·dy − (γσ⁻¹/n)·(dβ + x̂·dγ).
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * Kernel a backend may register to compute per-channel batch statistics of
 * channels-last `x` in one call: inputs `{x}`, outputs `[mean, variance]`
 * (biased). Without it, `tf.moments` runs.
 */
export const BATCH_NORM_STATS_KERNEL = "SelftrainBatchNormStats";

/**
 * Kernel a backend may register for the whole training forward pass in one
 * call: inputs `{x, gamma, beta}`, attr `epsilon`, outputs
 * `[y, mean, variance]` (biased variance). Preferred over
 * {@link BATCH_NORM_STATS_KERNEL} + `tf.batchNorm` when present.
 */
export const BATCH_NORM_TRAIN_KERNEL = "SelftrainBatchNormTrain";

/**
 * Kernel a backend may register for the training batch norm's backward
 * pass: inputs `{x, dy, mean, variance, gamma}`, attr `epsilon`, outputs
 * `[dx, dGamma, dBeta]` by the closed form above. Without it, tfjs ops run.
 */
export const BATCH_NORM_GRAD_KERNEL = "SelftrainBatchNormGrad";

function momentsOf(x: tf.Tensor, axes: number[]): tf.Tensor1D[] {
  const { mean, variance } = tf.moments(x, axes);
  return [mean as tf.Tensor1D, variance as tf.Tensor1D];
}

/** Runs kernel `name` when the backend registered it; null otherwise. */
function tryKernel(
  name: string,
  inputs: tf.NamedTensorMap,
  attrs: tf.NamedAttrMap = {},
): tf.Tensor[] | null {
  if (tf.getKernel(name, tf.getBackend()) === undefined) return null;
  return tf.engine().runKernel(name, inputs, attrs) as tf.Tensor[];
}

/** y, the batch mean and the biased variance, by the fastest route the backend has. */
function forwardTraining(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
  axes: number[],
): tf.Tensor[] {
  const fused = tryKernel(BATCH_NORM_TRAIN_KERNEL, { x, gamma, beta }, {
    epsilon,
  });
  if (fused) return fused;
  const [mu, sigma2] = tryKernel(BATCH_NORM_STATS_KERNEL, { x }) ??
    momentsOf(x, axes);
  return [tf.batchNorm(x, mu, sigma2, beta, gamma, epsilon), mu, sigma2];
}

/** What the forward pass saves for the gradient: x, μ, σ², γ. */
type Saved = [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];

/**
 * Normalises channels-last `x` with its own batch statistics over every axis
 * but the last: `y` = γ·(x − μ)/√(σ² + ε) + β, and the per-channel `mean`
 * and biased `variance` for moving averages (kept: the caller disposes
 * them). Gradients reach `x`, `gamma` and `beta`; the statistics are
 * outside the tape.
 */
export function batchNormTraining<T extends tf.Tensor>(
  x: T,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): { y: T; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  if (x.rank < 2) {
    throw new Error(
      `core/nn/batch_norm.ts: batchNormTraining needs rank >= 2, got shape [${x.shape}]`,
    );
  }
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  const count = x.size / x.shape[x.rank - 1]; // elements per channel
  let mean: tf.Tensor1D | null = null;
  let variance: tf.Tensor1D | null = null;
  const op = tf.customGrad(
    (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [input, g, b] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
      const save = args[3] as tf.GradSaveFunc;
      const [value, mu, sigma2] = forwardTraining(input, g, b, epsilon, axes);
      mean = tf.keep(mu as tf.Tensor1D);
      variance = tf.keep(sigma2 as tf.Tensor1D);
      save([input, mu, sigma2, g]);
      const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
        const [xs, mu, v, gm] = saved as Saved;
        const inputs = { x: xs, dy, mean: mu, variance: v, gamma: gm };
        const fast = tryKernel(BATCH_NORM_GRAD_KERNEL, inputs, { epsilon });
        if (fast) return fast;
        const xHat = tf.batchNorm(xs, mu, v, undefined, undefined, epsilon);
        const dBeta = tf.sum(dy, axes) as tf.Tensor1D;
        const dGamma = tf.sum(tf.mul(dy, xHat), axes) as tf.Tensor1D;
        const scale = tf.mul(gm, tf.rsqrt(tf.add(v, epsilon))) as tf.Tensor1D;
        const k = tf.mul(scale, -1 / count);
        // x̂·(−kdγ) + (−kdβ) in one pass: batchNorm(x, μ, σ², offset, scale)
        const correction = tf.batchNorm(
          xs,
          mu,
          v,
          tf.mul(k, dBeta) as tf.Tensor1D,
          tf.mul(k, dGamma) as tf.Tensor1D,
          epsilon,
        );
        const dx = tf.add(tf.mul(dy, scale), correction);
        return [dx, dGamma, dBeta];
      };
      return { value, gradFunc };
    },
  );
  const y = op(x, gamma, beta) as T;
  return { y, mean: mean!, variance: variance! };
}
