/**
 * Activations by name (`activate`, what the building blocks and the shared
 * `activation` setting use), and swish, x·sigmoid(x), as one differentiable
 * op. Written as tfjs ops it is
 * a Sigmoid and a Multiply forward and seven kernels backward (the product
 * rule, the sigmoid's gradient, two casts, a sum), each a full pass over
 * the activation; EfficientNet spends a fifth of a training step there.
 * A backend may register the two kernels below to run each direction as
 * one pass; without them the tfjs ops run (with a closed-form gradient).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Activation } from "../../core/contracts.ts";

/** Optional kernel: inputs `{x}`, output x·sigmoid(x), float32. */
export const SWISH_KERNEL = "SelftrainSwish";

/**
 * Optional kernel of swish's gradient: inputs `{x, dy}`, output
 * dy·(s + x·s·(1 − s)) with s = sigmoid(x).
 */
export const SWISH_GRAD_KERNEL = "SelftrainSwishGrad";

/**
 * Optional kernel of relu's gradient: inputs `{x, dy}`, output dy where
 * x > 0, else 0, in one pass (tfjs runs Step and then Multiply).
 */
export const RELU_GRAD_KERNEL = "SelftrainReluGrad";

/** Whether the current backend registered `kernelName`. */
export function backendHas(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

/** swish as one op; its forward and gradient kernels are looked up per call. */
const swishOp = tf.customGrad(
  (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    save([input]);
    const value = backendHas(SWISH_KERNEL)
      ? tf.engine().runKernel(SWISH_KERNEL, { x: input }) as tf.Tensor
      : tf.mul(input, tf.sigmoid(input));
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor => {
      const [xs] = saved;
      if (backendHas(SWISH_GRAD_KERNEL)) {
        return tf.engine().runKernel(SWISH_GRAD_KERNEL, {
          x: xs,
          dy,
        }) as tf.Tensor;
      }
      const s = tf.sigmoid(xs);
      // s + x·s·(1 − s) = s·(1 + x·(1 − s))
      return tf.mul(dy, tf.mul(s, tf.add(1, tf.mul(xs, tf.sub(1, s)))));
    };
    return { value, gradFunc };
  },
);

/** x·sigmoid(x), elementwise, with its gradient (float32 `x`). */
export function swish<T extends tf.Tensor>(x: T): T {
  return swishOp(x) as T;
}

/** relu with {@link RELU_GRAD_KERNEL} as its gradient. */
const reluOp = tf.customGrad(
  (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    (args[1] as tf.GradSaveFunc)([input]);
    return {
      value: tf.relu(input),
      gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) =>
        tf.engine().runKernel(RELU_GRAD_KERNEL, { x: xs, dy }) as tf.Tensor,
    };
  },
);

/**
 * max(x, 0). Its gradient is the {@link RELU_GRAD_KERNEL} where the backend
 * has it (the same values as tfjs' Step × Multiply: both are exact);
 * elsewhere this is `tf.relu`.
 */
export function relu<T extends tf.Tensor>(x: T): T {
  if (!backendHas(RELU_GRAD_KERNEL)) return tf.relu(x);
  return reluOp(x) as T;
}

/** Applies a named activation. */
export function activate(x: tf.Tensor, fn: Activation): tf.Tensor {
  switch (fn) {
    case "relu":
      return relu(x);
    case "relu6":
      return tf.relu6(x);
    case "swish":
      return swish(x);
    case "sigmoid":
      return tf.sigmoid(x);
    case "linear":
      return x;
  }
}
