/**
 * The fused training batch norm against tfjs' own differentiation of
 * `tf.moments` + `tf.batchNorm` (an independent formulation) on the cpu
 * backend, and on the fast backends against cpu.
 */
import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { batchNormTraining } from "../core/nn/batch_norm.ts";
import { foldBatchNorm, FoldCache } from "../plugins/layers/fold.ts";
import {
  FAST,
  randomValues,
  REFERENCE,
  relativeError,
  runOn,
} from "./engine_helpers.ts";

const EPS = 1e-3;

function inputs(shape: number[], seed: number) {
  const c = shape[shape.length - 1];
  // an offset mean and uneven scale, as real activations have
  const x = tf.add(
    tf.mul(
      tf.tensor(randomValues(tf.util.sizeFromShape(shape), seed), shape),
      3,
    ),
    1.5,
  );
  const gamma = tf.tensor1d(randomValues(c, seed + 1)).add(1.2) as tf.Tensor1D;
  const beta = tf.tensor1d(randomValues(c, seed + 2));
  // a loss that weighs outputs unevenly, so every gradient term matters
  const w = tf.tensor(
    randomValues(tf.util.sizeFromShape(shape), seed + 3),
    shape,
  );
  return { x, gamma, beta, w };
}

function composite(shape: number[], seed: number): tf.Tensor[] {
  const { x, gamma, beta, w } = inputs(shape, seed);
  const axes = shape.slice(0, -1).map((_, i) => i);
  const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(a, axes);
    const y = tf.batchNorm(
      a,
      mean,
      variance,
      b as tf.Tensor1D,
      g as tf.Tensor1D,
      EPS,
    );
    return tf.sum(tf.mul(y, w));
  };
  const { mean, variance } = tf.moments(x, axes);
  const y = tf.batchNorm(x, mean, variance, beta, gamma, EPS);
  return [y, mean, variance, ...tf.grads(f)([x, gamma, beta])];
}

function fused(shape: number[], seed: number): tf.Tensor[] {
  const { x, gamma, beta, w } = inputs(shape, seed);
  const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const r = batchNormTraining(a, g as tf.Tensor1D, b as tf.Tensor1D, EPS);
    tf.dispose([r.mean, r.variance]);
    return tf.sum(tf.mul(r.y, w));
  };
  const r = batchNormTraining(x, gamma, beta, EPS);
  return [r.y, r.mean, r.variance, ...tf.grads(f)([x, gamma, beta])];
}

const NAMES = ["y", "mean", "variance", "dx", "dgamma", "dbeta"];

for (const shape of [[2, 5, 3, 4], [7, 6]]) {
  Deno.test(`batchNormTraining: matches differentiated moments+batchNorm, shape [${shape}]`, async () => {
    const want = await runOn(REFERENCE, () => composite(shape, 11));
    const providers = [REFERENCE, ...FAST];
    for (const provider of providers) {
      const got = await runOn(provider, () => fused(shape, 11));
      for (let i = 0; i < want.length; i++) {
        const err = relativeError(got[i], want[i]);
        assert.ok(
          err <= 1e-4,
          `${provider.name} ${NAMES[i]}: relative error ${err}`,
        );
      }
    }
  });
}

Deno.test("batchNormTraining: leaves no tensors behind but its outputs", async () => {
  await REFERENCE.activate();
  const { x, gamma, beta, w } = inputs([2, 3, 3, 4], 5);
  const before = tf.memory().numTensors;
  const grads = tf.grads((a: tf.Tensor) => {
    const r = batchNormTraining(a, gamma, beta, EPS);
    tf.dispose([r.mean, r.variance]);
    return tf.sum(tf.mul(r.y, w));
  })([x]);
  assert.equal(tf.memory().numTensors, before + 1);
  tf.dispose([...grads, x, gamma, beta, w]);
});

Deno.test("batchNormTraining: rejects rank 1 naming the file", () => {
  assert.throws(
    () => batchNormTraining(tf.ones([3]), tf.ones([3]), tf.zeros([3]), EPS),
    /core\/nn\/batch_norm\.ts: .*rank >= 2/,
  );
});

Deno.test("FoldCache: folds once while sources are unchanged, refolds after assign, keeps gradients on the tape", async () => {
  await REFERENCE.activate();
  const empty = tf.memory().numTensors;
  const variable = <T extends tf.Tensor>(init: T): tf.Variable & T => {
    const v = tf.variable(init) as tf.Variable & T;
    init.dispose();
    return v;
  };
  const kernel = variable(
    tf.tensor4d(randomValues(2 * 3 * 4, 1), [1, 2, 3, 4]),
  );
  const bn = {
    gamma: variable(tf.tensor1d([1, 2, 0.5, 1.5])),
    beta: variable(tf.tensor1d([0, 1, -1, 0.25])),
    mean: variable(tf.tensor1d([0.1, -0.2, 0.3, 0])),
    variance: variable(tf.tensor1d([1, 4, 0.25, 2])),
    epsilon: EPS,
  };
  const cache = new FoldCache();
  const expected = () => {
    const f = foldBatchNorm(kernel, undefined, bn);
    const out = [f.kernel.dataSync().slice(), f.bias.dataSync().slice()];
    tf.dispose([f.kernel, f.bias]);
    return out;
  };
  const seen: tf.Tensor[] = [];
  const read = () =>
    cache.use(kernel, undefined, bn, (f) => {
      seen.push(f.kernel);
      return [f.kernel.dataSync().slice(), f.bias.dataSync().slice()];
    });
  assert.deepEqual(read(), expected());
  const held = tf.memory().numTensors;
  assert.deepEqual(read(), expected());
  assert.equal(seen[1], seen[0], "second use reuses the folded kernel");
  assert.equal(tf.memory().numTensors, held);

  const moved = tf.tensor1d([1, 1, 1, 1]);
  bn.mean.assign(moved);
  moved.dispose();
  const after = read();
  assert.notEqual(seen[2], seen[1], "an assign invalidates the fold");
  assert.deepEqual(after, expected());
  assert.equal(tf.memory().numTensors, held, "the old fold was freed");

  // under a tape the fold is recomputed, so the kernel gets a gradient
  const { value, grads } = tf.variableGrads(
    () =>
      cache.use(kernel, undefined, bn, (f) => tf.sum(f.kernel)) as tf.Scalar,
    [kernel],
  );
  const scale = tf.tidy(() =>
    tf.mul(bn.gamma, tf.rsqrt(tf.add(bn.variance, EPS))).dataSync()
  );
  const g = grads[kernel.name].dataSync();
  for (let i = 0; i < g.length; i++) {
    assert.ok(Math.abs(g[i] - scale[i % 4]) < 1e-5, `gradient ${i}`);
  }
  tf.dispose([value, ...Object.values(grads)]);
  cache.dispose();
  tf.dispose([kernel, bn.gamma, bn.beta, bn.mean, bn.variance]);
  assert.equal(tf.memory().numTensors, empty);
});
