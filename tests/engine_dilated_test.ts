/**
 * What DeepLabv3+ needs from the engine, checked on `wasm` and `native`
 * against tfjs' `cpu` backend: dilated convolutions forward (plain, fused,
 * depthwise), both gradients of the atrous convolution the models train
 * with (tfjs refuses gradients of dilation > 1, see `plugins/layers/atrous.ts`),
 * and bilinear resize forward and gradient.
 */
import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import {
  FAST,
  randomValues,
  REFERENCE,
  relativeError,
  runOn,
} from "./engine_helpers.ts";
import {
  atrous,
  atrousConv2d,
  atrousDepthwiseConv2d,
} from "../plugins/layers/atrous.ts";

const TOL = 1e-4;

function t4(shape: number[], seed: number): tf.Tensor4D {
  return tf.tensor4d(
    randomValues(tf.util.sizeFromShape(shape), seed),
    shape as [number, number, number, number],
  );
}

async function checkParity(label: string, fn: () => tf.Tensor[]) {
  const want = await runOn(REFERENCE, fn);
  for (const provider of FAST) {
    const got = await runOn(provider, fn);
    for (let i = 0; i < want.length; i++) {
      const err = relativeError(got[i], want[i]);
      assert.ok(
        err <= TOL,
        `${label}: ${provider.name} output ${i} error ${err}`,
      );
    }
  }
}

const CASES = [
  { x: [2, 9, 11, 3], f: 3, out: 4, rate: 2 },
  { x: [1, 8, 8, 16], f: 3, out: 16, rate: 6 },
  { x: [1, 5, 7, 4], f: 3, out: 3, rate: 12 },
  { x: [1, 10, 10, 5], f: 5, out: 2, rate: 3 },
];

for (const c of CASES) {
  const name = `x${c.x} k${c.f} rate ${c.rate}`;
  Deno.test(`dilated conv2d ${name}: atrous form equals tf.conv2d, forward and gradients match cpu`, async () => {
    const shapeF = [c.f, c.f, c.x[3], c.out];
    // On cpu the space-to-batch form is the dilated convolution itself.
    const [direct, viaAtrous] = await runOn(REFERENCE, () => {
      const x = t4(c.x, 1), f = t4(shapeF, 2);
      return [
        tf.conv2d(x, f, 1, "same", "NHWC", c.rate),
        atrousConv2d(x, f, c.rate),
      ];
    });
    assert.ok(relativeError(viaAtrous, direct) <= 1e-6);
    await checkParity(name, () => {
      const x = t4(c.x, 1), f = t4(shapeF, 2);
      const y = tf.conv2d(x, f, 1, "same", "NHWC", c.rate);
      const fused = tf.fused.conv2d({
        x,
        filter: f,
        pad: "same",
        strides: 1,
        dilations: c.rate,
        bias: tf.fill([c.out], 0.25),
        activation: "relu",
      });
      const dy = t4(y.shape, 3);
      const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        atrousConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.rate)
      )([x, f], dy);
      return [y, fused, dx, df];
    });
  });
}

Deno.test("dilated depthwise conv: forward and both gradients match cpu", async () => {
  for (const rate of [2, 4]) {
    await checkParity(`depthwise rate ${rate}`, () => {
      const x = t4([2, 9, 7, 6], 4), f = t4([3, 3, 6, 1], 5);
      const y = tf.depthwiseConv2d(x, f, 1, "same", "NHWC", rate);
      const dy = t4(y.shape, 6);
      const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        atrousDepthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, rate)
      )([x, f], dy);
      return [y, dx, df];
    });
    const [direct, viaAtrous] = await runOn(REFERENCE, () => {
      const x = t4([2, 9, 7, 6], 4), f = t4([3, 3, 6, 1], 5);
      return [
        tf.depthwiseConv2d(x, f, 1, "same", "NHWC", rate),
        atrousDepthwiseConv2d(x, f, rate),
      ];
    });
    assert.ok(relativeError(viaAtrous, direct) <= 1e-6);
  }
});

Deno.test("atrous rate >= map size: the centre-tap shortcut equals space-to-batch, forward and gradients", async () => {
  // The shortcut (a 1x1 conv with the centre tap) against the generic
  // space-to-batch form of the same kernel, both on cpu.
  const cases: [number[], number, number, boolean][] = [
    [[2, 4, 4, 8], 6, 3, false],
    [[1, 3, 5, 4], 18, 3, false],
    [[1, 4, 4, 6], 4, 5, false],
    [[2, 4, 3, 6], 12, 3, true],
  ];
  for (const [shape, rate, k, depthwise] of cases) {
    const [fast, generic] = await Promise.all(
      [true, false].map((short) =>
        runOn(REFERENCE, () => {
          const x = t4(shape, 11), c = shape[3];
          const f = t4(depthwise ? [k, k, c, 1] : [k, k, c, 5], 12);
          const valid = (v: tf.Tensor4D, w: tf.Tensor4D) =>
            depthwise
              ? tf.depthwiseConv2d(v, w, 1, "valid")
              : tf.conv2d(v, w, 1, "valid");
          const conv = (a: tf.Tensor, b: tf.Tensor) => {
            const [xa, fb] = [a as tf.Tensor4D, b as tf.Tensor4D];
            if (!short) return atrous(xa, rate, k, (v) => valid(v, fb));
            return depthwise
              ? atrousDepthwiseConv2d(xa, fb, rate)
              : atrousConv2d(xa, fb, rate);
          };
          const y = conv(x, f);
          const [dx, df] = tf.grads(conv)([x, f], t4(y.shape, 13));
          return [y, dx, df];
        })
      ),
    );
    for (let i = 0; i < 3; i++) {
      const err = relativeError(fast[i], generic[i]);
      assert.ok(err <= 1e-6, `${shape} rate ${rate} k${k}: output ${i} ${err}`);
    }
  }
});

Deno.test("bilinear resize (align corners): forward and gradient match cpu", async () => {
  for (
    const [from, to] of [[[2, 8, 8, 5], [32, 32]], [[1, 4, 4, 3], [13, 13]]]
  ) {
    await checkParity(`resize ${from} -> ${to}`, () => {
      const x = t4(from, 7);
      const resize = (a: tf.Tensor) =>
        tf.image.resizeBilinear(a as tf.Tensor4D, to as [number, number], true);
      const y = resize(x);
      const [dx] = tf.grads(resize)([x], t4(y.shape, 8));
      return [y, dx];
    });
  }
});

Deno.test("bilinear resize gradient kernel on a non-square map matches cpu's values", async () => {
  // tfjs-backend-cpu 4.22 labels this gradient [N, W, H, C] (its values are
  // in [N, H, W, C] order), so tf.grads fails on cpu for non-square maps;
  // the kernel is compared directly, values only.
  await checkParity("ResizeBilinearGrad 3x5 <- 6x10", () => {
    const images = t4([1, 3, 5, 2], 9), dy = t4([1, 6, 10, 2], 10);
    return [
      tf.engine().runKernel("ResizeBilinearGrad", { images, dy }, {
        alignCorners: true,
      }) as tf.Tensor,
    ];
  });
});
