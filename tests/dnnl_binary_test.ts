/**
 * native's oneDNN Add, Sub, Multiply and RealDiv
 * (plugins/backends/native/kernels_binary_dnnl.ts): same shapes, the
 * squeeze-excitation broadcast either way round, a per-channel vector, a
 * scalar, odd channel counts and N = 1, forward and gradients, match the
 * cpu backend; a broadcast first operand of Sub / RealDiv falls back and
 * still matches; shape collapsing by hand.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  loadDnnlBinary,
  loadDnnlPointwise,
} from "../plugins/backends/native/dnnl_loader.ts";
import { collapseBroadcast } from "../plugins/backends/native/dnnl_binary.ts";
import { dnnlBinaryCounts } from "../plugins/backends/native/kernels_binary_dnnl.ts";
import { randomValues } from "./engine_helpers.ts";
import { assertJitOnly, dnnlTests, nativeMatchesCpu } from "./dnnl_helpers.ts";

const dnnlTest = dnnlTests("dnnl binary", loadDnnlBinary);

Deno.test("collapseBroadcast: merges runs of full and broadcast dims, drops unit dims", () => {
  assert.deepEqual(collapseBroadcast([8, 64, 64, 32], [8, 1, 1, 32]), [
    [8, 4096, 32],
    [8, 1, 32],
  ]);
  assert.deepEqual(collapseBroadcast([2, 3, 4], [2, 3, 4]), [[24], [24]]);
  assert.deepEqual(collapseBroadcast([2, 3, 4], [1, 1, 1]), [[24], [1]]);
  assert.deepEqual(collapseBroadcast([1, 5, 1, 7], [1, 1, 1, 7]), [
    [5, 7],
    [1, 7],
  ]);
  assert.deepEqual(collapseBroadcast([1, 1], [1, 1]), [[1], [1]]);
});

type Op = (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
const OPS: [string, Op][] = [
  ["add", tf.add],
  ["sub", tf.sub],
  ["mul", tf.mul],
  ["div", tf.div],
];

/** op(a, b) and the gradients of a weighted sum of it. */
function opAndGrads(op: Op, aShape: number[], bShape: number[]) {
  return () => {
    const full = aShape.length >= bShape.length ? aShape : bShape;
    const n = (s: number[]) => tf.util.sizeFromShape(s);
    const a = tf.tensor(randomValues(n(aShape), 1), aShape);
    // away from zero, for the divisions
    const b = tf.add(tf.tensor(randomValues(n(bShape), 2), bShape), 2.5);
    const w = tf.tensor(randomValues(n(full), 3), full);
    const [da, db] = tf.grads((x, y) => tf.sum(tf.mul(op(x, y), w)))([a, b]);
    return [op(a, b), da, db];
  };
}

const SHAPES: [string, number[], number[], boolean][] = [
  ["same shape", [2, 16, 32, 32], [2, 16, 32, 32], true],
  ["SE gate, C = 21, N = 1", [1, 41, 40, 21], [1, 1, 1, 21], true],
  ["per-channel vector", [2, 16, 32, 40], [40], true],
  ["scalar", [4, 8, 8, 144], [], true],
  ["SE gate first", [2, 1, 1, 24], [2, 32, 32, 24], false],
];

for (const [name, aShape, bShape, aFull] of SHAPES) {
  for (const [opName, op] of OPS) {
    dnnlTest(
      `dnnl binary: ${opName}, ${name}: forward and gradients match cpu`,
      async () => {
        const before = dnnlBinaryCounts.calls;
        await nativeMatchesCpu(opAndGrads(op, aShape, bShape));
        // the forward itself on oneDNN, unless a broadcast first operand
        // of a non-commutative op sent it back to the wasm kernel
        if (aFull || opName === "add" || opName === "mul") {
          assert.ok(dnnlBinaryCounts.calls > before, "ran on oneDNN");
        }
      },
    );
  }
}

dnnlTest("dnnl binary: JIT kernels only", () => {
  assertJitOnly(loadDnnlPointwise()!.implementations());
});
