/**
 * native's oneDNN convolutions (plugins/backends/native/kernels_conv_dnnl.ts):
 * forward, dx and dW run on oneDNN where libdnnl2 is installed and match the
 * pure-JS cpu backend; a filter above the size limit goes to the fallback
 * kernels and matches too. (engine_parity_test.ts covers the geometries:
 * strides, dilation, padding, batch.)
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { loadDnnlConv } from "../plugins/backends/native/dnnl_loader.ts";
import { dnnlConvCounts } from "../plugins/backends/native/kernels_conv_dnnl.ts";
import { randomValues } from "./engine_helpers.ts";
import { dnnlTests, nativeMatchesCpu } from "./dnnl_helpers.ts";

const dnnlTest = dnnlTests("dnnl conv", loadDnnlConv);

function convAndGrads(x: number[], w: number[], stride: number) {
  return () => {
    const xs = tf.tensor4d(
      randomValues(tf.util.sizeFromShape(x), 1),
      x as [number, number, number, number],
    );
    const ws = tf.tensor4d(
      randomValues(tf.util.sizeFromShape(w), 2),
      w as [number, number, number, number],
    );
    const f = (a: tf.Tensor, b: tf.Tensor) =>
      tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, "same").square()
        .sum();
    const [dx, dw] = tf.grads(f)([xs, ws]);
    return [tf.conv2d(xs, ws, stride, "same"), dx, dw];
  };
}

dnnlTest(
  "dnnl conv: forward, dx and dW run on oneDNN and match cpu",
  async () => {
    const before = { ...dnnlConvCounts };
    await nativeMatchesCpu(convAndGrads([2, 9, 7, 16], [3, 3, 16, 24], 2));
    assert.ok(
      dnnlConvCounts.forward >= before.forward + 2,
      "forward on oneDNN",
    );
    assert.ok(dnnlConvCounts.data > before.data, "dx on oneDNN");
    assert.ok(dnnlConvCounts.weights > before.weights, "dW on oneDNN");
  },
);

dnnlTest(
  "dnnl conv: a filter over the size limit falls back and still matches",
  async () => {
    const before = { ...dnnlConvCounts };
    await nativeMatchesCpu(convAndGrads([1, 3, 3, 512], [3, 3, 512, 256], 1));
    assert.deepEqual(dnnlConvCounts, before, "nothing ran on oneDNN");
  },
);
