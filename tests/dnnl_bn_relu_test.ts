/**
 * The fused training batch norm + relu (plugins/layers/bn_relu.ts, native's
 * plugins/backends/native/kernels_bn_relu_dnnl.ts): y, the batch
 * statistics, the moving averages and the gradients of x, γ and β match
 * batch norm then relu on the pure-JS cpu backend, and equal native's own
 * unfused kernels' values, for channel counts oneDNN blocks by 16, by 8 and
 * neither; tensors too small for oneDNN take the separate kernels;
 * ConvBn uses the fused op for relu in training only; nothing leaks.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { BatchNorm } from "../core/nn/layers.ts";
import type { ForwardContext } from "../core/nn/module.ts";
import { relu } from "../plugins/layers/activations.ts";
import {
  batchNormReluTraining,
  batchNormReluUsable,
} from "../plugins/layers/bn_relu.ts";
import { ConvBn } from "../plugins/layers/conv_bn.ts";
import { loadDnnlPointwise } from "../plugins/backends/native/dnnl_loader.ts";
import { dnnlBnReluCounts } from "../plugins/backends/native/kernels_bn_relu_dnnl.ts";
import { nativeBackend } from "../plugins/backends/native.ts";
import { randomValues, runOn } from "./engine_helpers.ts";
import { assertSameBits, dnnlTests, nativeMatchesCpu } from "./dnnl_helpers.ts";

const dnnlTest = dnnlTests("dnnl batch norm + relu", loadDnnlPointwise);

const TRAIN: ForwardContext = { training: true };
const NAMES = ["y", "moving mean", "moving variance", "dx", "dgamma", "dbeta"];
const label = (i: number) => NAMES[i];

/**
 * relu(batch norm) of a random `shape` through `fused` or the separate ops,
 * under a loss that weighs every output unevenly: y, the moving statistics
 * after the step, and the gradients of x, γ and β.
 */
function normRelu(shape: number[], seed: number, fused: boolean) {
  return () => {
    const n = tf.util.sizeFromShape(shape), c = shape[shape.length - 1];
    const bn = new BatchNorm(c, { momentum: 0.9, epsilon: 1e-3 });
    bn.gamma.assign(tf.add(tf.tensor1d(randomValues(c, seed + 1)), 1.2));
    bn.beta.assign(tf.tensor1d(randomValues(c, seed + 2)));
    // an offset mean and uneven scale, as real activations have
    const x = tf.add(tf.mul(tf.tensor(randomValues(n, seed), shape), 3), 0.5);
    const w = tf.tensor(randomValues(n, seed + 3), shape);
    const forward = (a: tf.Tensor) =>
      fused ? batchNormReluTraining(bn, a, TRAIN) : relu(bn.apply(a, TRAIN));
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(forward(x), w)),
      [bn.gamma, bn.beta],
    );
    const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(forward(a), w)))(x);
    const y = forward(x);
    const out = [
      y,
      bn.movingMean.clone(),
      bn.movingVariance.clone(),
      dx,
      grads[bn.gamma.name],
      grads[bn.beta.name],
    ];
    value.dispose();
    bn.dispose();
    return out;
  };
}

const CASES: [string, number[]][] = [
  ["C = 32 (blocks of 16)", [2, 16, 32, 32]],
  ["C = 40 (blocks of 8)", [2, 21, 20, 40]],
  ["C = 21 (no block), N = 1", [1, 41, 39, 21]],
];

for (const [name, shape] of CASES) {
  dnnlTest(
    `dnnl batch norm + relu: ${name} matches cpu and native's separate kernels`,
    async () => {
      await nativeBackend.activate();
      assert.ok(batchNormReluUsable(), "native registers the fused kernels");
      const before = { ...dnnlBnReluCounts };
      const { got } = await nativeMatchesCpu(normRelu(shape, 5, true), {
        label,
        reference: normRelu(shape, 5, false),
      });
      // three forward passes (two under gradients), two backward
      assert.equal(dnnlBnReluCounts.forward - before.forward, 3);
      assert.equal(dnnlBnReluCounts.backward - before.backward, 2);
      // Equal values; a masked gradient may be +0 where relu's gradient gave −0.
      const apart = await runOn(nativeBackend, normRelu(shape, 5, false));
      got.forEach((g, i) =>
        assert.ok(g.every((v, j) => v === apart[i][j]), `${label(i)} differs`)
      );
    },
  );
}

dnnlTest(
  "dnnl batch norm + relu: a tensor under oneDNN's size runs the separate kernels, same values",
  async () => {
    const shape = [2, 4, 4, 8];
    await nativeBackend.activate();
    const before = { ...dnnlBnReluCounts };
    const { got } = await nativeMatchesCpu(normRelu(shape, 9, true), {
      label,
      reference: normRelu(shape, 9, false),
    });
    assert.deepEqual(dnnlBnReluCounts, before, "oneDNN's fused pass unused");
    assertSameBits(
      got,
      await runOn(nativeBackend, normRelu(shape, 9, false)),
      label,
    );
  },
);

dnnlTest(
  "dnnl batch norm + relu: ConvBn fuses relu in training only; tensors stay flat over steps",
  async () => {
    await nativeBackend.activate();
    const layer = new ConvBn(8, 32, { kernel: 3 }, {
      activation: "relu",
      bnMomentum: 0.9,
      bnEpsilon: 1e-3,
    });
    const x = tf.tensor(randomValues(2 * 24 * 24 * 8, 4), [2, 24, 24, 8]);
    const step = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () => tf.sum(layer.apply(x as tf.Tensor4D, TRAIN)),
          layer.namedParameters().map(([, v]) => v),
        );
        return [value, ...Object.values(grads)];
      });
    tf.dispose(step());
    const tensors = tf.memory().numTensors;
    const before = { ...dnnlBnReluCounts };
    for (let i = 0; i < 3; i++) tf.dispose(step());
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(dnnlBnReluCounts.forward - before.forward, 3);
    assert.equal(dnnlBnReluCounts.backward - before.backward, 3);
    tf.dispose(layer.apply(x as tf.Tensor4D, { training: false }));
    assert.equal(
      dnnlBnReluCounts.forward - before.forward,
      3,
      "not at inference",
    );
    layer.dispose();
    x.dispose();
  },
);
