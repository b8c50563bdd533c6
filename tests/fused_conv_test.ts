/**
 * FusedConv2D on the native and wasm backends against tfjs' cpu backend:
 * bias and linear / relu / relu6 fused into the conv (Winograd's output
 * transform, or one pass after im2col's GEMM), every other epilogue
 * (leakyrelu, prelu, sigmoid, a broadcast bias) run after it, and that
 * Winograd is taken exactly where it qualifies.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { randomValues } from "./engine_helpers.ts";
import { checkParity, t4 } from "./winograd_helpers.ts";

interface Shape {
  x: [number, number, number, number];
  kernel: number;
  cout: number;
  stride: number;
  /** Whether the conv takes the Winograd path (where it is on). */
  winograd: boolean;
}

const SHAPES: Shape[] = [
  // ≥ 16 channels in and out, 3×3 stride 1: Winograd
  { x: [2, 6, 7, 16], kernel: 3, cout: 18, stride: 1, winograd: true },
  { x: [1, 9, 8, 20], kernel: 3, cout: 16, stride: 1, winograd: true },
  // im2col + GEMM: stride 2, pointwise, thin
  { x: [2, 7, 7, 16], kernel: 3, cout: 18, stride: 2, winograd: false },
  { x: [2, 5, 5, 8], kernel: 1, cout: 6, stride: 1, winograd: false },
  { x: [2, 6, 6, 4], kernel: 3, cout: 5, stride: 1, winograd: false },
];

type Activation = tf.fused.Activation;

/** [activation, bias shape (null: none)]; the last four are not fused. */
const EPILOGUES: [Activation, "channel" | "scalar" | null][] = [
  ["linear", null],
  ["linear", "channel"],
  ["relu", null],
  ["relu", "channel"],
  ["relu6", "channel"],
  ["relu6", null],
  ["leakyrelu", "channel"],
  ["prelu", "channel"],
  ["sigmoid", null],
  ["relu", "scalar"],
];

function fusedConv(
  s: Shape,
  activation: Activation,
  bias: "channel" | "scalar" | null,
): tf.Tensor4D {
  return tf.fused.conv2d({
    x: t4(s.x, 1),
    filter: t4([s.kernel, s.kernel, s.x[3], s.cout], 2),
    strides: s.stride,
    pad: "same",
    // ×4: outputs on both sides of relu6's clamp
    bias: bias === null ? undefined : tf.tensor1d(
      randomValues(bias === "channel" ? s.cout : 1, 3).map((v) => 4 * v),
    ),
    activation,
    preluActivationWeights: activation === "prelu"
      ? tf.tensor1d(randomValues(s.cout, 4))
      : undefined,
    leakyreluAlpha: 0.1,
  });
}

for (const s of SHAPES) {
  const name = `x${s.x} ${s.kernel}×${s.kernel}/${s.stride} cout ${s.cout}`;
  Deno.test(`fused conv2d epilogues match cpu: ${name}`, async () => {
    for (const [activation, bias] of EPILOGUES) {
      await checkParity(
        `${name} ${activation} bias ${bias}`,
        () => [fusedConv(s, activation, bias)],
        (taken, backend) =>
          assert.equal(
            taken.convs,
            s.winograd ? 1 : 0,
            `${backend} took Winograd: ${activation} bias ${bias}`,
          ),
      );
    }
  });
}

Deno.test("fused conv2d relu6 with bias: gradients match cpu (Winograd training)", async () => {
  const s: Shape = {
    x: [1, 33, 31, 16],
    kernel: 3,
    cout: 17,
    stride: 1,
    winograd: true,
  };
  await checkParity(
    "fused grads",
    () => {
      const x = t4(s.x, 5), f = t4([3, 3, 16, 17], 6);
      const b = tf.tensor1d(randomValues(17, 7).map((v) => 4 * v));
      const conv = (a: tf.Tensor, g: tf.Tensor, c: tf.Tensor) =>
        tf.fused.conv2d({
          x: a as tf.Tensor4D,
          filter: g as tf.Tensor4D,
          strides: 1,
          pad: "same",
          bias: c,
          activation: "relu6",
        });
      const y = conv(x, f, b);
      return [y, ...tf.grads(conv)([x, f, b], t4(y.shape, 8))];
    },
    (taken, backend) =>
      assert.deepEqual(taken, { convs: 3, filterGrads: 1 }, backend),
  );
});
