/**
 * native's oneDNN depthwise convolutions
 * (plugins/backends/native/kernels_depthwise_dnnl.ts): forward, dx and dW
 * run on oneDNN where libdnnl2 is installed and match the pure-JS cpu
 * backend, for EfficientNet's 3×3 and 5×5 kernels at strides 1 and 2, odd
 * sizes and a channel multiplier (tfjs has no depthwise gradient with
 * dilation). Filter gradients over 3×3 go to the SIMD kernel by default.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { loadDnnlConv } from "../plugins/backends/native/dnnl_loader.ts";
import { dnnlConvCounts } from "../plugins/backends/native/kernels_conv_dnnl.ts";
import { nativeBackend } from "../plugins/backends/native.ts";
import { setDepthwiseFilterGradByTaps } from "../plugins/backends/native/kernels_depthwise_dnnl.ts";
import {
  randomValues,
  REFERENCE,
  relativeError,
  runOn,
} from "./engine_helpers.ts";
import { assertJitOnly, dnnlTests, nativeMatchesCpu } from "./dnnl_helpers.ts";

const dnnlTest = dnnlTests("dnnl depthwise", loadDnnlConv);

/** y, dx and dW of a depthwise conv under a squared-sum loss. */
function depthwiseAndGrads(
  x: [number, number, number, number],
  w: [number, number, number, number],
  stride: number,
) {
  return () => {
    const xs = tf.tensor4d(randomValues(tf.util.sizeFromShape(x), 3), x);
    const ws = tf.tensor4d(randomValues(tf.util.sizeFromShape(w), 4), w);
    const conv = (a: tf.Tensor, b: tf.Tensor) =>
      tf.depthwiseConv2d(
        a as tf.Tensor4D,
        b as tf.Tensor4D,
        stride,
        "same",
      );
    const [dx, dw] = tf.grads((a, b) => conv(a, b).square().sum())([xs, ws]);
    return [conv(xs, ws), dx, dw];
  };
}

const CASES: [string, Parameters<typeof depthwiseAndGrads>][] = [
  ["3x3 stride 1", [[2, 9, 7, 24], [3, 3, 24, 1], 1]],
  ["3x3 stride 2", [[2, 9, 8, 32], [3, 3, 32, 1], 2]],
  ["5x5 stride 2, odd size", [[1, 11, 13, 40], [5, 5, 40, 1], 2]],
  ["5x5 stride 1, 4x4 map", [[3, 4, 4, 72], [5, 5, 72, 1], 1]],
  ["3x3 multiplier 2", [[2, 6, 6, 8], [3, 3, 8, 2], 1]],
];

for (const [name, args] of CASES) {
  dnnlTest(
    `dnnl depthwise: ${name}: forward, dx and dW match cpu`,
    async () => {
      const before = dnnlConvCounts.depthwise;
      await nativeMatchesCpu(depthwiseAndGrads(...args));
      assert.ok(dnnlConvCounts.depthwise > before, "ran on oneDNN");
    },
  );
}

dnnlTest(
  "dnnl depthwise: 5x5 filter gradients on the SIMD kernel, 3x3 on oneDNN; both match cpu",
  async () => {
    for (
      const [k, x] of [[5, [2, 7, 9, 40]], [3, [2, 7, 9, 40]]] as const
    ) {
      const fn = depthwiseAndGrads([...x], [k, k, 40, 1], 1);
      const want = await runOn(REFERENCE, fn);
      const ran: number[] = [];
      for (const byTaps of [true, false]) {
        const was = setDepthwiseFilterGradByTaps(byTaps);
        try {
          const before = dnnlConvCounts.depthwise;
          const got = await runOn(nativeBackend, fn);
          ran.push(dnnlConvCounts.depthwise - before);
          assert.ok(relativeError(got[2], want[2]) <= 1e-4, `${k}x${k} dW`);
        } finally {
          setDepthwiseFilterGradByTaps(was);
        }
      }
      // forward twice (under the tape and again), dx, and dW where oneDNN
      assert.deepEqual(ran, k === 5 ? [3, 4] : [4, 4]);
    }
  },
);

dnnlTest(
  "dnnl depthwise: all three run on oneDNN for EfficientNet's shapes",
  async () => {
    const before = dnnlConvCounts.depthwise;
    const was = setDepthwiseFilterGradByTaps(false);
    try {
      await runOn(
        nativeBackend,
        depthwiseAndGrads([1, 8, 8, 48], [5, 5, 48, 1], 2),
      );
    } finally {
      setDepthwiseFilterGradByTaps(was);
    }
    // forward twice (under the tape and again), dx, dW
    assert.equal(dnnlConvCounts.depthwise - before, 4);
    assertJitOnly(loadDnnlConv()!.implementations());
  },
);
