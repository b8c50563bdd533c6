/**
 * The heap SplitV kernel (plugins/backends/kernels/split.ts) and the
 * one-hot of negative labels that RetinaNet's loss relies on: both match
 * the cpu backend on wasm and native, with concat's gradient (a SplitV)
 * along the first, middle and last axes.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  FAST,
  randomValues,
  REFERENCE,
  relativeError,
  runOn,
} from "./engine_helpers.ts";

function splitsAndConcatGrad(axis: number) {
  return () => {
    const x = tf.tensor3d(randomValues(3 * 10 * 4, axis), [3, 10, 4]);
    const parts = tf.split(
      x,
      axis === 1 ? [2, 5, 3] : axis === 0 ? 3 : 2,
      axis,
    );
    const ws = parts.map((p, i) => tf.mul(tf.onesLike(p), i + 1));
    const f = (...ps: tf.Tensor[]) =>
      tf.sum(tf.mul(tf.concat(ps, axis), tf.concat(ws, axis)));
    return [...parts, ...tf.grads(f)(parts)];
  };
}

for (const axis of [0, 1, 2]) {
  Deno.test(`split: SplitV along axis ${axis} and concat's gradient match cpu`, async () => {
    const want = await runOn(REFERENCE, splitsAndConcatGrad(axis));
    for (const provider of FAST) {
      const got = await runOn(provider, splitsAndConcatGrad(axis));
      assert.equal(got.length, want.length);
      got.forEach((g, i) =>
        assert.ok(relativeError(g, want[i]) === 0, `${provider.name} ${i}`)
      );
    }
  });
}

Deno.test("split: oneHot of background and ignore codes is all zeros", async () => {
  const fn = () => [
    tf.cast(
      tf.oneHot(tf.tensor2d([[0, -1], [-2, 4]], [2, 2], "int32"), 5),
      "float32",
    ),
  ];
  const want = await runOn(REFERENCE, fn);
  for (const provider of FAST) {
    assert.deepEqual(
      Array.from((await runOn(provider, fn))[0]),
      Array.from(want[0]),
    );
  }
  assert.deepEqual(
    Array.from(want[0]),
    [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
  );
});
