/**
 * native's max-pool gradient on oneDNN's pooling primitives
 * (plugins/backends/native/dnnl_pool.ts, kernels_pool_dnnl.ts): dx matches
 * the pure-JS cpu backend (the same first-maximum routing; the sums of
 * overlapping windows may round in another order) for windows that
 * overlap, tile and skip rows, with values coarse enough that ties are
 * common; a tensor under oneDNN's size keeps the SIMD kernel; scratch
 * buffers are freed.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { loadDnnlPool } from "../plugins/backends/native/dnnl_loader.ts";
import { dnnlPoolCounts } from "../plugins/backends/native/kernels_pool_dnnl.ts";
import { nativeBackend } from "../plugins/backends/native.ts";
import { randomValues } from "./engine_helpers.ts";
import { dnnlTests, nativeMatchesCpu } from "./dnnl_helpers.ts";

const dnnlTest = dnnlTests("dnnl max pool", loadDnnlPool);

/** dx of a max pool of a coarse random `shape` (ties common) under an uneven loss. */
function poolGrad(
  shape: number[],
  window: number,
  stride: number,
  pad: "same" | "valid",
) {
  return () => {
    const n = tf.util.sizeFromShape(shape);
    const x = tf.round(tf.mul(tf.tensor(randomValues(n, 3), shape), 4));
    const f = (a: tf.Tensor) => {
      const y = tf.maxPool(a as tf.Tensor4D, window, stride, pad);
      return tf.sum(tf.mul(y, tf.tensor(randomValues(y.size, 5), y.shape)));
    };
    return [tf.grad(f)(x)];
  };
}

const CASES: [string, number[], number, number, "same" | "valid"][] = [
  ["3x3/2 same, 64 ch (ResNet's stem)", [2, 33, 31, 64], 3, 2, "same"],
  ["2x2/2 valid, 40 ch", [2, 40, 36, 40], 2, 2, "valid"],
  ["3x3/1 same, 21 ch", [1, 64, 60, 21], 3, 1, "same"],
  ["2x2/3 valid (rows skipped), 16 ch", [2, 47, 45, 16], 2, 3, "valid"],
];

for (const [name, shape, window, stride, pad] of CASES) {
  dnnlTest(`dnnl max-pool gradient: ${name} matches cpu`, async () => {
    const before = dnnlPoolCounts.grad;
    await nativeMatchesCpu(poolGrad(shape, window, stride, pad), {
      tol: 1e-5,
      label: () => "dx",
    });
    assert.equal(dnnlPoolCounts.grad - before, 1, "oneDNN ran it");
  });
}

dnnlTest(
  "dnnl max-pool gradient: a tensor under oneDNN's size keeps the SIMD kernel",
  async () => {
    const before = dnnlPoolCounts.grad;
    await nativeMatchesCpu(poolGrad([1, 9, 8, 64], 3, 2, "same"), {
      tol: 1e-5,
      label: () => "dx",
    });
    assert.equal(dnnlPoolCounts.grad, before);
  },
);

dnnlTest("dnnl max-pool gradient: its scratch buffers are freed", async () => {
  await nativeBackend.activate();
  const backend = tf.backend() as unknown as {
    dataIdMap: { numDataIds(): number };
  };
  const f = poolGrad([2, 33, 31, 64], 3, 2, "same");
  tf.dispose(tf.tidy(f));
  const ids = backend.dataIdMap.numDataIds();
  const tensors = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) tf.dispose(tf.tidy(f));
  assert.equal(backend.dataIdMap.numDataIds(), ids);
  assert.equal(tf.memory().numTensors, tensors);
});
