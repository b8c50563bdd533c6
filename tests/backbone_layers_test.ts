/** Tests of the shared resampling ops and ConvBn in plugins/layers. */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "../core/gradients.ts";
import {
  cropTo,
  dropout,
  globalAvgPool,
  levelSize,
  maxPool3x3s2,
  nearestUpsample,
  pointwiseConv,
  spatialMean,
} from "../plugins/layers/ops.ts";
import {
  ConvBn,
  convBnParams,
  DEFAULT_NORM_ACT,
} from "../plugins/layers/conv_bn.ts";
import { withInitSeed } from "../core/nn/layers.ts";

await tf.setBackend("cpu");

Deno.test("nearestUpsample repeats each pixel into a scale×scale patch", () => {
  const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
  const y = nearestUpsample(x, 2);
  assert.deepEqual(y.shape, [1, 4, 4, 1]);
  assert.deepEqual(Array.from(y.dataSync()), [
    1,
    1,
    2,
    2,
    1,
    1,
    2,
    2,
    3,
    3,
    4,
    4,
    3,
    3,
    4,
    4,
  ]);
  assert.throws(() => nearestUpsample(x, 1.5), /positive integer/);
  tf.dispose([x, y]);
});

Deno.test("nearestUpsample keeps channels apart and sums gradients", () => {
  const x = tf.tensor4d([1, 10, 2, 20], [1, 1, 2, 2]);
  const y = nearestUpsample(x, 3);
  assert.deepEqual(y.shape, [1, 3, 6, 2]);
  assert.deepEqual(Array.from(y.dataSync()).slice(0, 12), [
    1,
    10,
    1,
    10,
    1,
    10,
    2,
    20,
    2,
    20,
    2,
    20,
  ]);
  // Each input pixel is copied 9 times, so d(sum)/dx = 9.
  const g = tf.grad((t: tf.Tensor) =>
    tf.sum(nearestUpsample(t as tf.Tensor4D, 3))
  )(x);
  assert.deepEqual(Array.from(g.dataSync()), [9, 9, 9, 9]);
  tf.dispose([x, y, g]);
});

Deno.test("cropTo keeps the top-left window and rejects growing", () => {
  const x = tf.reshape(tf.range(0, 9), [1, 3, 3, 1]) as tf.Tensor4D;
  const y = cropTo(x, 2, 2);
  assert.deepEqual(Array.from(y.dataSync()), [0, 1, 3, 4]);
  assert.equal(cropTo(x, 3, 3), x);
  assert.throws(() => cropTo(x, 4, 3), /cannot crop/);
  tf.dispose([x, y]);
});

Deno.test("maxPool3x3s2 and levelSize agree on ceil-divided sizes", () => {
  for (const size of [13, 16, 7, 1]) {
    const x = tf.zeros([1, size, size, 2]) as tf.Tensor4D;
    const y = maxPool3x3s2(x);
    assert.equal(y.shape[1], levelSize(size, 1));
    tf.dispose([x, y]);
  }
  const x = tf.tensor4d([1, 5, 2, 3, 0, 9, 4, 4, 8], [1, 3, 3, 1]);
  const y = maxPool3x3s2(x);
  // "same" pads one pixel each side: windows centred on (0,0), (0,2), (2,0), (2,2).
  assert.deepEqual(Array.from(y.dataSync()), [5, 9, 4, 9]);
  tf.dispose([x, y]);
});

Deno.test("globalAvgPool and dropout", () => {
  const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
  assert.deepEqual(Array.from(globalAvgPool(x).dataSync()), [4, 5]);
  const v = tf.ones([4, 1000]) as tf.Tensor2D;
  assert.equal(dropout(v, 0.5, false), v);
  const d = dropout(v, 0.5, true, 3);
  const vals = Array.from(d.dataSync());
  assert.ok(vals.every((e) => e === 0 || e === 2));
  const kept = vals.filter((e) => e === 2).length / vals.length;
  assert.ok(kept > 0.45 && kept < 0.55, `kept fraction ${kept}`);
  tf.dispose([x, v, d]);
});

Deno.test("ConvBn counts its parameters and applies its activation", () => {
  const m = withInitSeed(
    1,
    () => new ConvBn(3, 8, { kernel: 3, stride: 2 }, DEFAULT_NORM_ACT),
  );
  assert.equal(m.countParameters(), convBnParams(3, 3, 8));
  assert.equal(m.countParameters(), 3 * 3 * 3 * 8 + 16);
  const y = tf.tidy(() =>
    m.apply(tf.randomNormal([2, 9, 9, 3], 0, 1, "float32", 5), {
      training: false,
    })
  );
  assert.deepEqual(y.shape, [2, 5, 5, 8]);
  assert.ok(Math.min(...y.dataSync()) >= 0, "relu output is non-negative");
  tf.dispose(y);
  m.dispose();
});

Deno.test("pointwiseConv equals tf.conv2d with a 1×1 kernel", () => {
  const x = tf.randomNormal([2, 5, 3, 4], 0, 1, "float32", 1) as tf.Tensor4D;
  const k = tf.randomNormal([1, 1, 4, 6], 0, 1, "float32", 2) as tf.Tensor4D;
  const b = tf.randomNormal([6], 0, 1, "float32", 3);
  const ref = tf.add(tf.conv2d(x, k, 1, "same"), b);
  const got = pointwiseConv(x, k, b);
  assert.deepEqual(got.shape, [2, 5, 3, 6]);
  const diff = tf.max(tf.abs(tf.sub(ref, got))).dataSync()[0];
  assert.ok(diff < 1e-5, `max diff ${diff}`);
  const k3 = tf.zeros([3, 3, 4, 6]);
  assert.throws(() => pointwiseConv(x, k3), /\[1, 1, in, out\] kernel/);
  tf.dispose([x, k, b, ref, got, k3]);
});

Deno.test("ConvBn at inference (batch norm folded into a fused conv) equals conv → batchNorm → activation", () => {
  const cases = [
    { kernel: 3, stride: 1, act: "relu" },
    { kernel: 3, stride: 2, act: "swish" },
    { kernel: 1, stride: 1, act: "relu6" },
    { kernel: 1, stride: 2, act: "relu" },
  ] as const;
  for (const c of cases) {
    const norm = { ...DEFAULT_NORM_ACT, activation: c.act };
    const m = withInitSeed(
      2,
      () => new ConvBn(4, 6, { kernel: c.kernel, stride: c.stride }, norm),
    );
    // moving statistics and affine parameters away from their initial values
    m.bn.movingMean.assign(tf.randomNormal([6], 0, 1, "float32", 7));
    m.bn.movingVariance.assign(tf.randomUniform([6], 0.2, 3, "float32", 8));
    m.bn.gamma.assign(tf.randomUniform([6], 0.5, 2, "float32", 9));
    m.bn.beta.assign(tf.randomNormal([6], 0, 1, "float32", 10));
    const x = tf.randomNormal([2, 7, 8, 4], 0, 1, "float32", 11) as tf.Tensor4D;
    const [got, want] = tf.tidy(() => {
      const conv = tf.conv2d(x, m.conv.kernel as tf.Tensor4D, c.stride, "same");
      const bn = tf.batchNorm(
        conv,
        m.bn.movingMean as tf.Tensor1D,
        m.bn.movingVariance as tf.Tensor1D,
        m.bn.beta as tf.Tensor1D,
        m.bn.gamma as tf.Tensor1D,
        DEFAULT_NORM_ACT.bnEpsilon,
      );
      const ref = c.act === "swish"
        ? tf.mul(bn, tf.sigmoid(bn))
        : c.act === "relu6"
        ? tf.relu6(bn)
        : tf.relu(bn);
      return [m.apply(x, { training: false }), ref];
    });
    assert.deepEqual(got.shape, want.shape);
    const g = got.dataSync(), w = want.dataSync();
    let err = 0, scale = 0;
    for (let i = 0; i < w.length; i++) {
      err = Math.max(err, Math.abs(g[i] - w[i]));
      scale = Math.max(scale, Math.abs(w[i]));
    }
    assert.ok(err <= 1e-5 * scale, `${JSON.stringify(c)}: error ${err}`);
    tf.dispose([got, want, x]);
    m.dispose();
  }
});

Deno.test("spatialMean: value and gradient match tf.mean over H and W (hand-checked 2x2)", async () => {
  await tf.setBackend("cpu");
  const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
  const w = tf.tensor4d([1, -2], [1, 1, 1, 2]);
  assert.deepEqual(Array.from(spatialMean(x).dataSync()), [4, 5]);
  const grad = tf.grad((a: tf.Tensor) =>
    tf.sum(tf.mul(spatialMean(a as tf.Tensor4D), w))
  );
  // d/dx of sum(w_c · mean_c) = w_c / (H·W)
  assert.deepEqual(
    Array.from(grad(x).dataSync()),
    [0.25, -0.5, 0.25, -0.5, 0.25, -0.5, 0.25, -0.5],
  );
  const big = tf.randomNormal([2, 5, 3, 4], 0, 1, "float32", 3) as tf.Tensor4D;
  const g4 = tf.randomNormal([2, 1, 1, 4], 0, 1, "float32", 4);
  const ref = tf.grad((a: tf.Tensor) =>
    tf.sum(tf.mul(tf.mean(a, [1, 2], true), g4))
  )(big);
  const got = tf.grad((a: tf.Tensor) =>
    tf.sum(tf.mul(spatialMean(a as tf.Tensor4D), g4))
  )(big);
  assert.ok(tf.max(tf.abs(tf.sub(ref, got))).dataSync()[0] < 1e-7);
  tf.dispose([x, w, big, g4, ref, got]);
});
