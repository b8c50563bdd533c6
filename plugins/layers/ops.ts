/**
 * Parameter-free resampling ops shared by backbones and decoders. They use
 * only broadcasting, reshapes and pooling so their gradients exist on every
 * backend.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ForwardContext, Module } from "../../core/nn/module.ts";

/** 3×3 max-pool, stride 2, `same` padding (ResNet / SpineNet stem). */
export function maxPool3x3s2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.maxPool(x, 3, 2, "same");
}

/**
 * Nearest-neighbour upsampling by an integer `scale`: each pixel becomes a
 * `scale × scale` patch (Model Garden `nearest_upsampling`).
 */
export function nearestUpsample(x: tf.Tensor4D, scale: number): tf.Tensor4D {
  if (!Number.isInteger(scale) || scale < 1) {
    throw new Error(
      `plugins/layers/ops.ts: upsampling scale must be a positive integer, got ${scale}`,
    );
  }
  if (scale === 1) return x;
  const [n, h, w, c] = x.shape;
  // Two rank-4 broadcasts (columns, then rows): tfjs only has the gradient
  // of tile/broadcast up to rank 4.
  const cols = tf.broadcastTo(tf.reshape(x, [n * h, w, 1, c]), [
    n * h,
    w,
    scale,
    c,
  ]);
  const rows = tf.broadcastTo(tf.reshape(cols, [n, h, 1, w * scale * c]), [
    n,
    h,
    scale,
    w * scale * c,
  ]);
  return tf.reshape(rows, [n, h * scale, w * scale, c]);
}

/**
 * Crops the top-left `[height, width]` window. Upsampling a ceil-divided map
 * (e.g. 7 → 14 for a 13-pixel target) overshoots by at most one pixel.
 */
export function cropTo(
  x: tf.Tensor4D,
  height: number,
  width: number,
): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (h === height && w === width) return x;
  if (h < height || w < width) {
    throw new Error(
      `plugins/layers/ops.ts: cannot crop ${h}×${w} to larger ${height}×${width}`,
    );
  }
  return tf.slice(x, [0, 0, 0, 0], [-1, height, width, -1]);
}

/** Spatial size `ceil(size / 2**level)` of a level for an input size. */
export function levelSize(size: number, level: number): number {
  return Math.ceil(size / 2 ** level);
}

/** Global average pool `[N, H, W, C]` → `[N, C]`. */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  return tf.reshape(spatialMean(x), [x.shape[0], x.shape[3]]);
}

/**
 * Mean over H and W, kept as `[N, 1, 1, C]`. Its gradient is dy / (H·W)
 * broadcast in one pass; tfjs' Mean gradient fills a tensor of ones the
 * size of x, multiplies and divides (three passes over x per call, in
 * every squeeze-excitation block).
 */
export function spatialMean(x: tf.Tensor4D): tf.Tensor4D {
  const mean = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor4D;
    const n = input.shape[1] * input.shape[2];
    return {
      value: tf.mean(input, [1, 2], true),
      gradFunc: (dy: tf.Tensor) =>
        tf.broadcastTo(tf.div(dy, n), input.shape) as tf.Tensor4D,
    };
  });
  return mean(x) as tf.Tensor4D;
}

/**
 * Inverted dropout: in training, zeroes each element with probability `rate`
 * and rescales the rest; identity at inference.
 */
export function dropout(
  x: tf.Tensor2D,
  rate: number,
  training: boolean,
  seed?: number,
): tf.Tensor2D {
  if (!training || rate <= 0) return x;
  const keep = 1 - rate;
  const mask = tf.floor(
    tf.add(tf.randomUniform(x.shape, 0, 1, "float32", seed), keep),
  );
  return tf.mul(tf.div(x, keep), mask);
}

/**
 * A 1×1, stride-1 convolution computed as a matrix product over the
 * flattened pixels. Same result as `tf.conv2d`, but its gradient uses MatMul,
 * which is ~15× faster than the CPU backend's Conv2DBackpropFilter.
 */
export function pointwiseConv(
  x: tf.Tensor4D,
  kernel: tf.Tensor,
  bias?: tf.Tensor,
): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const out = kernel.shape[3]!;
  if (kernel.rank !== 4 || kernel.shape[0] !== 1 || kernel.shape[1] !== 1) {
    throw new Error(
      `plugins/layers/ops.ts: pointwiseConv needs a [1, 1, in, out] kernel, got [${kernel.shape}]`,
    );
  }
  let y = tf.matMul(
    tf.reshape(x, [n * h * w, c]),
    tf.reshape(kernel, [c, out]),
  );
  if (bias) y = tf.add(y, bias);
  return tf.reshape(y, [n, h, w, out]);
}

/** Applies `conv` (built with `stride`), routing 1×1 stride-1 to MatMul. */
export function applyConv(
  conv: {
    kernel: tf.Tensor;
    bias?: tf.Tensor;
    apply(x: tf.Tensor4D): tf.Tensor4D;
  },
  x: tf.Tensor4D,
  stride = 1,
): tf.Tensor4D {
  return conv.kernel.shape[0] === 1 && conv.kernel.shape[1] === 1 &&
      stride === 1
    ? pointwiseConv(x, conv.kernel, conv.bias)
    : conv.apply(x);
}

/**
 * Drop-connect (stochastic depth): in training, zeroes whole examples of a
 * residual branch with probability `rate` and rescales the rest.
 */
export function dropConnect(
  x: tf.Tensor4D,
  rate: number,
  ctx: ForwardContext,
): tf.Tensor4D {
  if (!ctx.training || rate <= 0) return x;
  const keep = 1 - rate;
  const mask = tf.floor(
    tf.add(
      tf.randomUniform(
        [x.shape[0], 1, 1, 1],
        0,
        1,
        "float32",
        ctx.rng?.nextUint32(),
      ),
      keep,
    ),
  );
  return tf.mul(tf.div(x, keep), mask);
}

/**
 * `ctx` in inference mode when `module` is frozen: a frozen block neither
 * drops its branch (drop-connect) nor uses batch statistics.
 */
export function inferenceIfFrozen(
  module: Module,
  ctx: ForwardContext,
): ForwardContext {
  return module.frozen && ctx.training ? { ...ctx, training: false } : ctx;
}
