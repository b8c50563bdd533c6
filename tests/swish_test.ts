/**
 * core/nn/swish.ts and its SIMD kernels (plugins/backends/kernels/
 * activation.ts): forward and gradient on wasm and native match the cpu
 * backend's tfjs ops, including sizes that are not a multiple of 4 and
 * large or tiny inputs; the compiled bytes match activation.c; a long run
 * leaks no tensors; same-dtype Cast shares storage.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { swish, SWISH_KERNEL } from "../plugins/layers/activations.ts";
import {
  ACTIVATION_SOURCE_SHA256,
} from "../plugins/backends/kernels/simd/activation_wasm.ts";
import { sourceSha256 } from "../tools/build_wasm.ts";
import {
  FAST,
  randomValues,
  REFERENCE,
  relativeError,
  runOn,
} from "./engine_helpers.ts";

/** Swish of `n` values (spread over ±`scale`) and its gradient. */
function swishAndGrad(n: number, scale: number) {
  return () => {
    const x = tf.mul(tf.tensor1d(randomValues(n, n)), scale);
    const w = tf.tensor1d(randomValues(n, n + 1));
    // the reference: tfjs' own ops and autodiff
    const plain = (t: tf.Tensor) => tf.mul(t, tf.sigmoid(t));
    const f = (t: tf.Tensor) => tf.sum(tf.mul(swish(t), w));
    const ref = (t: tf.Tensor) => tf.sum(tf.mul(plain(t), w));
    return [swish(x), tf.grad(f)(x), plain(x), tf.grad(ref)(x)];
  };
}

for (const [n, scale] of [[1, 3], [7, 3], [4099, 6], [64, 100]]) {
  Deno.test(`swish: ${n} values in ±${scale}, forward and gradient match cpu`, async () => {
    const want = await runOn(REFERENCE, swishAndGrad(n, scale));
    for (const provider of FAST) {
      const got = await runOn(provider, swishAndGrad(n, scale));
      assert.ok(
        tf.getKernel(SWISH_KERNEL, tf.getBackend()),
        "kernel registered",
      );
      for (let i = 0; i < 2; i++) {
        const err = relativeError(got[i], want[i + 2]);
        assert.ok(err <= 2e-6, `${provider.name} output ${i}: ${err}`);
      }
    }
  });
}

Deno.test("swish: activation_wasm.ts was built from the current activation.c (deno task build:wasm)", async () => {
  const sha = await sourceSha256(
    new URL("../plugins/backends/kernels/simd/activation.c", import.meta.url),
  );
  assert.equal(ACTIVATION_SOURCE_SHA256, sha);
});

Deno.test("swish: a long run of steps keeps tensor count and bytes flat", async () => {
  for (const provider of FAST) {
    await provider.activate();
    const x = tf.variable(tf.randomNormal([2, 5, 5, 12]));
    const step = () => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.square(swish(x))) as tf.Scalar,
        [x],
      );
      const next = tf.tidy(() => tf.sub(x, tf.mul(grads[x.name], 1e-3)));
      x.assign(next);
      tf.dispose([next, value, ...Object.values(grads)]);
    };
    step();
    const before = tf.memory();
    for (let i = 0; i < 50; i++) step();
    const after = tf.memory();
    assert.equal(after.numTensors, before.numTensors, provider.name);
    assert.equal(after.numBytes, before.numBytes, provider.name);
    x.dispose();
  }
});

Deno.test("swish: a same-dtype cast shares storage and still disposes cleanly", async () => {
  for (const provider of FAST) {
    await provider.activate();
    const before = tf.memory().numDataBuffers;
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.cast(a, "float32");
    assert.equal(a.dataId, b.dataId, provider.name);
    assert.equal(tf.memory().numDataBuffers, before + 1, provider.name);
    a.dispose();
    assert.deepEqual(Array.from(b.dataSync()), [1, 2, 3]);
    b.dispose();
    assert.equal(tf.memory().numDataBuffers, before, provider.name);
    const i = tf.cast(tf.tensor1d([1.5, -2.5]), "int32");
    assert.deepEqual(Array.from(i.dataSync()), [1, -2]);
    i.dispose();
  }
});
