import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { sliceTree } from "../selftrain/tensor_tree.ts";

Deno.test("sliceTree slices every leaf along the batch axis", async () => {
  await tf.setBackend("cpu");
  const tree = {
    a: tf.tensor2d([[1, 2], [3, 4], [5, 6]]),
    b: [tf.tensor1d([7, 8, 9]), tf.tensor3d([1, 2, 3, 4, 5, 6], [3, 1, 2])],
  };
  const s = sliceTree(tree, 1, 2);
  assert.deepEqual(await s.a.array(), [[3, 4], [5, 6]]);
  assert.deepEqual(await s.b[0].array(), [8, 9]);
  assert.deepEqual(s.b[1].shape, [2, 1, 2]);
  assert.deepEqual(await s.b[1].array(), [[[3, 4]], [[5, 6]]]);
  tf.dispose([
    tree as unknown as tf.TensorContainer,
    s as unknown as tf.TensorContainer,
  ]);
});
