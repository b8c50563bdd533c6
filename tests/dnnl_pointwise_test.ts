/**
 * native's oneDNN batch norm and swish
 * (plugins/backends/native/kernels_pointwise_dnnl.ts): the training batch
 * norm's y, statistics and three gradients, and swish with its gradient,
 * relu and FusedBatchNorm with given statistics, run on oneDNN where libdnnl2 is installed and match the pure-JS cpu
 * backend, for channel counts oneDNN's JIT kernels block by 16, by 8 and
 * neither, and N = 1; small tensors stay on the SIMD kernels; the
 * primitive cache stays bounded and tensors flat over many steps; the same
 * inputs give the same bits twice.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { batchNormTraining } from "../core/nn/batch_norm.ts";
import { relu, swish } from "../plugins/layers/activations.ts";
import { loadDnnlPointwise } from "../plugins/backends/native/dnnl_loader.ts";
import {
  dnnlPointwiseCounts,
  MIN_FLOATS,
} from "../plugins/backends/native/kernels_pointwise_dnnl.ts";
import { DnnlPointwisePrimitives } from "../plugins/backends/native/dnnl_pointwise.ts";
import {
  setDnnlBatchNormThreads,
  setDnnlEltwiseThreads,
} from "../plugins/backends/native/dnnl_threads.ts";
import { nativeBackend } from "../plugins/backends/native.ts";
import {
  randomValues,
  REFERENCE,
  relativeError,
  runOn,
} from "./engine_helpers.ts";
import {
  assertJitOnly,
  assertSameBits,
  dnnlTests,
  nativeMatchesCpu,
} from "./dnnl_helpers.ts";

const dnnlTest = dnnlTests("dnnl pointwise", loadDnnlPointwise);

const EPS = 1e-3;

/**
 * Batch norm then swish under a loss that weighs every output unevenly:
 * y, mean, variance, the swish output, and the gradients of x, γ, β.
 */
function normSwishAndGrads(shape: number[], seed: number) {
  return () => {
    const n = tf.util.sizeFromShape(shape), c = shape[shape.length - 1];
    // an offset mean and uneven scale, as real activations have
    const x = tf.add(tf.mul(tf.tensor(randomValues(n, seed), shape), 3), 1.5);
    const gamma = tf.add(tf.tensor1d(randomValues(c, seed + 1)), 1.2);
    const beta = tf.tensor1d(randomValues(c, seed + 2));
    const w = tf.tensor(randomValues(n, seed + 3), shape);
    const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const r = batchNormTraining(a, g as tf.Tensor1D, b as tf.Tensor1D, EPS);
      tf.dispose([r.mean, r.variance]);
      return tf.sum(tf.mul(swish(r.y), w));
    };
    const r = batchNormTraining(x, gamma as tf.Tensor1D, beta, EPS);
    return [
      r.y,
      r.mean,
      r.variance,
      swish(r.y),
      ...tf.grads(f)([x, gamma, beta]),
    ];
  };
}

const NAMES = ["y", "mean", "variance", "swish", "dx", "dgamma", "dbeta"];
const label = (i: number) => NAMES[i];

const CASES: [string, number[]][] = [
  ["C = 32 (blocks of 16)", [2, 16, 32, 32]],
  ["C = 40 (blocks of 8)", [2, 21, 20, 40]],
  ["C = 21 (no block), N = 1", [1, 41, 39, 21]],
  ["C = 3, rank 2", [10923, 3]],
  ["rank 2, 1280 features", [32, 1280]],
];

for (const [name, shape] of CASES) {
  dnnlTest(
    `dnnl pointwise: ${name}: batch norm + swish, forward and gradients match cpu`,
    async () => {
      assert.ok(tf.util.sizeFromShape(shape) >= MIN_FLOATS, "large enough");
      const before = { ...dnnlPointwiseCounts };
      await nativeMatchesCpu(normSwishAndGrads(shape, 7), { label });
      for (const [k, v] of Object.entries(dnnlPointwiseCounts)) {
        assert.ok(v > before[k as keyof typeof before], `${k} on oneDNN`);
      }
    },
  );
}

dnnlTest(
  "dnnl pointwise: tensors below the size limit stay on the SIMD kernels and match",
  async () => {
    const before = { ...dnnlPointwiseCounts };
    await nativeMatchesCpu(normSwishAndGrads([1, 5, 7, 12], 3), { label });
    assert.deepEqual(dnnlPointwiseCounts, before);
  },
);

dnnlTest(
  "dnnl pointwise: batch norm and eltwise capped at one thread and at all match cpu, the same bits twice each",
  async () => {
    const fn = normSwishAndGrads([2, 21, 20, 40], 11);
    const want = await runOn(REFERENCE, fn);
    for (const threads of [1, 64]) {
      const norm = setDnnlBatchNormThreads(threads);
      const eltwise = setDnnlEltwiseThreads(threads);
      try {
        const before = dnnlPointwiseCounts.normForward;
        const a = await runOn(nativeBackend, fn);
        const b = await runOn(nativeBackend, fn);
        assert.ok(dnnlPointwiseCounts.normForward > before, "on oneDNN");
        for (let i = 0; i < want.length; i++) {
          const err = relativeError(a[i], want[i]);
          assert.ok(err <= 1e-4, `${threads} threads, ${NAMES[i]}: ${err}`);
        }
        assertSameBits(a, b, (i) => `${threads} threads, ${NAMES[i]}`);
      } finally {
        setDnnlBatchNormThreads(norm);
        setDnnlEltwiseThreads(eltwise);
      }
    }
  },
);

dnnlTest(
  "dnnl pointwise: the same inputs give the same bits twice",
  async () => {
    const fn = normSwishAndGrads([4, 16, 12, 48], 5);
    const a = await runOn(nativeBackend, fn);
    const b = await runOn(nativeBackend, fn);
    assertSameBits(a, b, label);
  },
);

dnnlTest(
  "dnnl pointwise: no reference kernels; a long run keeps tensors, bytes and primitives flat",
  async () => {
    await nativeBackend.activate();
    const x = tf.variable(tf.randomNormal([2, 16, 16, 64], 0, 1, "float32", 1));
    const gamma = tf.variable(tf.ones([64]) as tf.Tensor1D);
    const beta = tf.variable(tf.zeros([64]) as tf.Tensor1D);
    const step = () => {
      const { value, grads } = tf.variableGrads(() => {
        const r = batchNormTraining(x, gamma, beta, EPS);
        tf.dispose([r.mean, r.variance]);
        return tf.sum(tf.square(swish(r.y))) as tf.Scalar;
      }, [x, gamma, beta]);
      for (const v of [x, gamma, beta]) {
        const next = tf.tidy(() => tf.sub(v, tf.mul(grads[v.name], 1e-4)));
        v.assign(next);
        next.dispose();
      }
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const pointwise = loadDnnlPointwise()!;
    const before = { memory: tf.memory(), cached: pointwise.cached };
    const ran = dnnlPointwiseCounts.normBackward;
    for (let i = 0; i < 30; i++) step();
    assert.equal(dnnlPointwiseCounts.normBackward - ran, 30);
    assert.equal(tf.memory().numTensors, before.memory.numTensors);
    assert.equal(tf.memory().numBytes, before.memory.numBytes);
    assert.equal(pointwise.cached, before.cached);
    assert.ok(pointwise.cached <= DnnlPointwisePrimitives.MAX_PRIMITIVES);
    assertJitOnly(pointwise.implementations());
    tf.dispose([x, gamma, beta]);
  },
);

dnnlTest(
  "dnnl pointwise: relu forward on oneDNN, and its gradient, match cpu (C = 21, N = 1)",
  async () => {
    const shape = [1, 41, 40, 21];
    const fn = () => {
      const n = tf.util.sizeFromShape(shape);
      const x = tf.tensor(randomValues(n, 9), shape);
      const w = tf.tensor(randomValues(n, 10), shape);
      return [tf.relu(x), tf.grad((a) => tf.sum(tf.mul(tf.relu(a), w)))(x)];
    };
    const before = dnnlPointwiseCounts.eltwiseForward;
    await nativeMatchesCpu(fn, { tol: 0 });
    assert.ok(dnnlPointwiseCounts.eltwiseForward > before, "on oneDNN");
  },
);

dnnlTest(
  "dnnl pointwise: relu's gradient kernel gives tfjs' Step x Multiply bits, on oneDNN from 2^15 floats and below it (zeros included)",
  async () => {
    for (const shape of [[2, 41, 40, 21], [1, 5, 7, 3]]) {
      const fn = (act: (x: tf.Tensor) => tf.Tensor) => () => {
        const n = tf.util.sizeFromShape(shape);
        // every third value exactly 0, where relu's gradient is 0 in tfjs
        const v = randomValues(n, 11).map((x, i) => i % 3 ? x : 0);
        const x = tf.tensor(v, shape);
        const w = tf.tensor(randomValues(n, 12), shape);
        return [tf.grad((a) => tf.sum(tf.mul(act(a), w)))(x)];
      };
      const before = dnnlPointwiseCounts.eltwiseBackward;
      await nativeMatchesCpu(fn(relu), { tol: 0, reference: fn(tf.relu) });
      const large = tf.util.sizeFromShape(shape) >= 2 ** 15;
      assert.equal(dnnlPointwiseCounts.eltwiseBackward > before, large);
    }
  },
);

dnnlTest(
  "dnnl pointwise: FusedBatchNorm with given statistics on oneDNN (C = 40 and C = 21, N = 1), and without γ on the SIMD kernel, match cpu",
  async () => {
    for (const shape of [[2, 21, 20, 40], [1, 41, 39, 21]]) {
      const fn = () => {
        const c = shape[3], n = tf.util.sizeFromShape(shape);
        const x = tf.tensor(randomValues(n, 4), shape);
        const mean = tf.tensor1d(randomValues(c, 5));
        const variance = tf.add(tf.tensor1d(randomValues(c, 6)), 1.5);
        const scale = tf.tensor1d(randomValues(c, 7));
        const offset = tf.tensor1d(randomValues(c, 8));
        return [
          tf.batchNorm(x, mean, variance, offset, scale, EPS),
          tf.batchNorm(x, mean, variance, offset, undefined, EPS),
        ];
      };
      const before = dnnlPointwiseCounts.normForward;
      await nativeMatchesCpu(fn, {
        tol: 1e-5,
        label: (i) => `[${shape}] output ${i}`,
      });
      assert.equal(dnnlPointwiseCounts.normForward - before, 1, "on oneDNN");
    }
  },
);
