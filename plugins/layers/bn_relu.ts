/**
 * Training-mode batch norm followed by relu as one op, for backends that
 * fuse the two (native: oneDNN's batch norm with `fuse_norm_relu`, which
 * keeps relu's mask in a workspace and applies it inside the batch norm's
 * gradient). That drops relu's own forward pass and its gradient pass over
 * the activation: about 10 of a ResNet-18 training step's 190 ms. Without
 * the kernels `ConvBn` keeps batch norm and relu apart.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BatchNorm } from "../../core/nn/layers.ts";
import type { ForwardContext } from "../../core/nn/module.ts";
import { backendHas } from "./activations.ts";

/**
 * Kernel of the forward pass: inputs `{x, gamma, beta}`, attr `epsilon`,
 * outputs `[y, mean, variance, mask]`: y = relu(batch norm of x with its
 * own statistics), the biased batch variance, and an opaque `mask` that
 * only {@link BATCH_NORM_RELU_GRAD_KERNEL} reads.
 */
export const BATCH_NORM_RELU_TRAIN_KERNEL = "SelftrainBatchNormReluTrain";

/**
 * Kernel of the backward pass: inputs `{x, dy, mean, variance, gamma,
 * mask}`, attr `epsilon`, outputs `[dx, dGamma, dBeta]`.
 */
export const BATCH_NORM_RELU_GRAD_KERNEL = "SelftrainBatchNormReluGrad";

let enabled = true;

/**
 * Turns the fused op on or off (off: batch norm and relu apart, the same
 * values); returns the previous setting. For A/B timing.
 */
export function setBatchNormReluFusion(on: boolean): boolean {
  const before = enabled;
  enabled = on;
  return before;
}

/** Whether the fused op is on and the current backend registered both kernels. */
export function batchNormReluUsable(): boolean {
  return enabled && backendHas(BATCH_NORM_RELU_TRAIN_KERNEL) &&
    backendHas(BATCH_NORM_RELU_GRAD_KERNEL);
}

/**
 * relu(`bn`(x)) in training mode, on the batch's statistics, with the
 * moving statistics updated as `bn.apply` does. Needs
 * {@link batchNormReluUsable}.
 */
export function batchNormReluTraining<T extends tf.Tensor>(
  bn: BatchNorm,
  x: T,
  ctx: ForwardContext,
): T {
  const epsilon = bn.epsilon;
  let mean: tf.Tensor1D | null = null;
  let variance: tf.Tensor1D | null = null;
  const op = tf.customGrad(
    (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [input, gamma, beta] = args as tf.Tensor[];
      const save = args[3] as tf.GradSaveFunc;
      const [y, mu, sigma2, mask] = tf.engine().runKernel(
        BATCH_NORM_RELU_TRAIN_KERNEL,
        { x: input, gamma, beta },
        { epsilon },
      ) as tf.Tensor[];
      mean = tf.keep(mu as tf.Tensor1D);
      variance = tf.keep(sigma2 as tf.Tensor1D);
      save([input, mu, sigma2, gamma, mask]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xs, m, v, g, mk] = saved;
          const inputs = {
            x: xs,
            dy,
            mean: m,
            variance: v,
            gamma: g,
            mask: mk,
          };
          const name = BATCH_NORM_RELU_GRAD_KERNEL;
          return tf.engine().runKernel(name, inputs, {
            epsilon,
          }) as tf.Tensor[];
        },
      };
    },
  );
  const y = op(x, bn.gamma, bn.beta) as T;
  bn.updateStatistics([mean!, variance!], ctx);
  return y;
}
