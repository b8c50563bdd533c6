/**
 * The kernels the models use give the same outputs and gradients on
 * `webgpu` (lavapipe here, the GPU's driver elsewhere) as on the `cpu`
 * reference. Ignored, with one message, only when there is no WebGPU
 * adapter at all.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { batchNormTraining } from "../core/nn/batch_norm.ts";
import {
  SGD_MOMENTUM_KERNEL,
  sgdMomentumUpdate,
} from "../core/train/optimizer.ts";
import { BATCH_NORM_STATS_KERNEL } from "../core/nn/batch_norm.ts";
import {
  type InputSpec,
  NO_WEBGPU,
  parity,
  type ParityFn,
  relDiff,
  use,
} from "./webgpu_helpers.ts";

/** Tolerance relative to the largest reference value (float32 sums). */
const TOL = 2e-4;

const x4 = (shape: number[], seed: number): InputSpec => ({ shape, seed });

interface Case {
  name: string;
  f: ParityFn;
  inputs: InputSpec[];
  grad?: boolean;
}

const conv = (
  stride: number,
  pad: "same" | "valid",
  dilation = 1,
): ParityFn =>
(x, w) =>
  tf.conv2d(
    x as tf.Tensor4D,
    w as tf.Tensor4D,
    stride,
    pad,
    "NHWC",
    dilation,
  );

const CASES: Case[] = [
  {
    name: "conv2d 3x3 stride 1 same",
    f: conv(1, "same"),
    inputs: [x4([2, 9, 9, 5], 1), x4([3, 3, 5, 7], 2)],
  },
  {
    name: "conv2d 3x3 stride 2 same",
    f: conv(2, "same"),
    inputs: [x4([2, 10, 9, 4], 3), x4([3, 3, 4, 6], 4)],
  },
  {
    name: "conv2d 7x7 stride 2 valid (stem)",
    f: conv(2, "valid"),
    inputs: [x4([1, 17, 17, 3], 5), x4([7, 7, 3, 8], 6)],
  },
  {
    // tfjs has no gradient for dilation > 1 on any backend: forward only.
    name: "conv2d 3x3 dilation 2 (forward)",
    grad: false,
    f: conv(1, "same", 2),
    inputs: [x4([1, 11, 11, 4], 7), x4([3, 3, 4, 4], 8)],
  },
  {
    name: "conv2d 1x1 stride 2",
    f: conv(2, "same"),
    inputs: [x4([2, 8, 8, 6], 9), x4([1, 1, 6, 10], 10)],
  },
  {
    name: "fused conv2d + bias + relu",
    f: (x, w, b) =>
      tf.fused.conv2d({
        x: x as tf.Tensor4D,
        filter: w as tf.Tensor4D,
        strides: 1,
        pad: "same",
        bias: b,
        activation: "relu",
      }),
    inputs: [x4([2, 6, 6, 4], 11), x4([3, 3, 4, 5], 12), x4([5], 13)],
  },
  {
    name: "depthwise 3x3 stride 1",
    f: (x, w) =>
      tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same"),
    inputs: [x4([2, 8, 8, 6], 14), x4([3, 3, 6, 1], 15)],
  },
  {
    name: "depthwise 5x5 stride 2",
    f: (x, w) =>
      tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, "same"),
    inputs: [x4([1, 11, 11, 4], 16), x4([5, 5, 4, 1], 17)],
  },
  {
    name: "depthwise 3x3 dilation 2 (forward)",
    grad: false,
    f: (x, w) =>
      tf.depthwiseConv2d(
        x as tf.Tensor4D,
        w as tf.Tensor4D,
        1,
        "same",
        "NHWC",
        2,
      ),
    inputs: [x4([1, 9, 9, 3], 18), x4([3, 3, 3, 1], 19)],
  },
  {
    name: "matMul and transposed matMul",
    f: (a, b) =>
      tf.add(
        tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
        tf.matMul(b as tf.Tensor2D, a as tf.Tensor2D, true, true),
      ),
    inputs: [x4([7, 7], 20), x4([7, 7], 21)],
  },
  {
    name: "fused matMul + bias (dense)",
    f: (a, b, c) =>
      tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias: c }),
    inputs: [x4([4, 9], 22), x4([9, 5], 23), x4([5], 24)],
  },
  {
    name: "relu, relu6, sigmoid, swish",
    f: (x) =>
      tf.stack([
        tf.relu(x),
        tf.relu6(tf.mul(x, 4)),
        tf.sigmoid(x),
        tf.mul(x, tf.sigmoid(x)),
      ]),
    inputs: [{ shape: [3, 5, 4], seed: 25, range: 3 }],
  },
  {
    name: "batch norm (inference op)",
    f: (x, m, v, g, b) =>
      tf.batchNorm(x, m, tf.abs(v), b, g, 1e-3) as tf.Tensor,
    inputs: [
      x4([2, 4, 4, 3], 26),
      x4([3], 27),
      x4([3], 28),
      x4([3], 29),
      x4([
        3,
      ], 30),
    ],
  },
  {
    name: "batch norm training path (core/nn/batch_norm.ts)",
    f: (x, g, b) => {
      const r = batchNormTraining(x, g as tf.Tensor1D, b as tf.Tensor1D, 1e-3);
      tf.dispose([r.mean, r.variance]);
      return r.y;
    },
    inputs: [x4([2, 5, 5, 4], 31), x4([4], 32), x4([4], 33)],
  },
  {
    name: "resize bilinear (half-pixel), 2x up",
    f: (x) => tf.image.resizeBilinear(x as tf.Tensor4D, [10, 10], false, true),
    // Square: tfjs' ResizeBilinear gradient swaps height and width.
    inputs: [x4([2, 5, 5, 3], 34)],
  },
  {
    // Forward only: tfjs-backend-webgpu's ResizeNearestNeighborGrad differs
    // from cpu's (no model here uses it; listed in the README).
    name: "resize nearest, 2x up (forward)",
    grad: false,
    f: (x) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [10, 10]),
    // Square: tfjs' ResizeBilinear gradient swaps height and width.
    inputs: [x4([2, 5, 5, 3], 34)],
  },
  {
    name: "max pool 3x3 stride 2, avg pool 2x2, global mean",
    f: (x) =>
      tf.concat([
        tf.reshape(tf.maxPool(x as tf.Tensor4D, 3, 2, "same"), [-1]),
        tf.reshape(tf.avgPool(x as tf.Tensor4D, 2, 2, "valid"), [-1]),
        tf.reshape(tf.mean(x, [1, 2]), [-1]),
      ]),
    inputs: [x4([2, 8, 8, 3], 35)],
  },
  {
    name: "pad, slice, tile, concat (resampling)",
    f: (x) => {
      const p = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
      const s = tf.slice(p, [0, 1, 0, 0], [-1, 4, 4, -1]);
      const up = tf.tile(s, [1, 2, 2, 1]);
      return tf.concat([up, tf.mul(up, 2)], 3);
    },
    inputs: [x4([2, 4, 4, 3], 36)],
  },
  {
    name: "softmax cross-entropy, focal-style sigmoid loss",
    f: (logits, t) =>
      tf.stack([
        tf.losses.softmaxCrossEntropy(tf.softmax(t), logits),
        tf.mean(
          tf.mul(tf.sigmoid(t), tf.log(tf.add(tf.sigmoid(logits), 1e-6))),
        ),
      ]),
    inputs: [x4([4, 6], 37), x4([4, 6], 38)],
  },
];

for (const c of CASES) {
  Deno.test({
    name: `webgpu parity: ${c.name}`,
    ignore: NO_WEBGPU,
    async fn() {
      const diffs = await parity(c.f, c.inputs, c.grad ?? true);
      for (const [what, d] of Object.entries(diffs)) {
        assert.ok(d < TOL, `${c.name}: ${what} differs by ${d} (relative)`);
      }
    },
  });
}

Deno.test({
  name: "webgpu: optional kernels are absent, and their op fallbacks match cpu",
  ignore: NO_WEBGPU,
  async fn() {
    await use("webgpu");
    assert.equal(tf.getKernel(SGD_MOMENTUM_KERNEL, "webgpu"), undefined);
    assert.equal(tf.getKernel(BATCH_NORM_STATS_KERNEL, "webgpu"), undefined);
    const attrs = { lr: 0.1, momentum: 0.9, weightDecay: 1e-2, nesterov: true };
    const run = async (backend: "cpu" | "webgpu") => {
      await use(backend);
      const [v, m, g] = [1, 2, 3].map((s) =>
        tf.tensor1d([s, -s / 2, s / 3, 0.5])
      );
      const out = sgdMomentumUpdate(v, m, g, attrs);
      const values = await Promise.all(out.map((t) => t.data()));
      tf.dispose([v, m, g, ...out]);
      return values as Float32Array[];
    };
    const ref = await run("cpu");
    const got = await run("webgpu");
    ref.forEach((r, i) => assert.ok(relDiff(r, got[i]) < 1e-6));
  },
});

Deno.test({
  name: "webgpu: a synchronous read of GPU data fails with a one-line message",
  ignore: NO_WEBGPU,
  async fn() {
    await use("webgpu");
    // A matMul result: never computed by tfjs' small-input CPU path.
    const t = tf.tidy(() => tf.matMul(tf.ones([64, 64]), tf.ones([64, 64])));
    assert.throws(
      () => t.dataSync(),
      /^Error: webgpu: .*await tensor\.data\(\)$/,
    );
    assert.ok((await t.data()).every((v) => v === 64));
    t.dispose();
  },
});
