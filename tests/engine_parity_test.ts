/**
 * Every kernel that the wasm and native backends add or replace is compared
 * with tfjs' pure-JS cpu backend on random inputs, forward and gradient.
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

const TOL = 1e-4;

async function checkParity(
  label: string,
  fn: () => tf.Tensor[],
): Promise<void> {
  const want = await runOn(REFERENCE, fn);
  for (const provider of FAST) {
    const got = await runOn(provider, fn);
    assert.equal(got.length, want.length);
    for (let i = 0; i < want.length; i++) {
      const err = relativeError(got[i], want[i]);
      assert.ok(
        err <= TOL,
        `${label}: ${provider.name} output ${i} relative error ${err}`,
      );
    }
  }
}

function t4(shape: number[], seed: number): tf.Tensor4D {
  return tf.tensor4d(
    randomValues(tf.util.sizeFromShape(shape), seed),
    shape as [number, number, number, number],
  );
}

type Pad = "same" | "valid" | [[number, number], [number, number], [
  number,
  number,
], [number, number]];

interface ConvCase {
  x: number[];
  f: number[];
  stride: number;
  pad: Pad;
  dilation?: number;
}

const EXPLICIT: Pad = [[0, 0], [1, 2], [2, 1], [0, 0]];

const CONV_CASES: ConvCase[] = [
  { x: [2, 7, 9, 3], f: [3, 3, 3, 4], stride: 1, pad: "same" },
  { x: [2, 8, 7, 4], f: [3, 2, 4, 5], stride: 2, pad: "valid" },
  { x: [1, 9, 8, 3], f: [3, 3, 3, 2], stride: 1, pad: EXPLICIT },
  { x: [2, 9, 8, 3], f: [3, 3, 3, 2], stride: 2, pad: EXPLICIT },
  { x: [2, 6, 5, 16], f: [1, 1, 16, 8], stride: 1, pad: "valid" },
  { x: [2, 7, 7, 16], f: [1, 1, 16, 8], stride: 2, pad: "same" },
  { x: [2, 11, 10, 17], f: [3, 3, 17, 5], stride: 2, pad: "same" },
  { x: [1, 16, 14, 3], f: [7, 7, 3, 8], stride: 2, pad: "same" },
];

for (const c of CONV_CASES) {
  const name = `conv2d x${c.x} f${c.f} s${c.stride} ${JSON.stringify(c.pad)}`;
  Deno.test(`engine parity: ${name} forward and gradients`, async () => {
    await checkParity(name, () => {
      const x = t4(c.x, 1), f = t4(c.f, 2);
      const y = tf.conv2d(x, f, c.stride, c.pad);
      const dy = t4(y.shape, 3);
      const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad)
      )([x, f], dy);
      return [y, dx, df];
    });
  });
}

// tfjs defines no gradient for dilated convolutions; the forward pass is ours.
Deno.test("engine parity: dilated conv2d forward (dilation 2, same and valid)", async () => {
  for (const pad of ["same", "valid"] as const) {
    await checkParity(`dilated conv2d ${pad}`, () => {
      const x = t4([2, 10, 9, 5], 4), f = t4([3, 3, 5, 6], 5);
      return [tf.conv2d(x, f, 1, pad, "NHWC", 2)];
    });
  }
});

Deno.test("engine parity: fused conv2d with bias and relu, fused matMul", async () => {
  await checkParity("fused", () => {
    const x = t4([2, 6, 6, 4], 6), f = t4([3, 3, 4, 5], 7);
    const bias = tf.tensor1d(randomValues(5, 8));
    const y = tf.fused.conv2d({
      x,
      filter: f,
      strides: 1,
      pad: "same",
      bias,
      activation: "relu",
    });
    const a = tf.tensor2d(randomValues(6 * 7, 9), [6, 7]);
    const b = tf.tensor2d(randomValues(7 * 3, 10), [7, 3]);
    const z = tf.fused.matMul({
      a,
      b,
      bias: tf.tensor1d(randomValues(3, 11)),
      activation: "relu6",
    });
    return [y, z];
  });
});

Deno.test("engine parity: matMul and batched matMul with transposes, with gradients", async () => {
  for (
    const [ta, tb] of [[false, false], [true, false], [false, true], [
      true,
      true,
    ]]
  ) {
    await checkParity(`matMul ta=${ta} tb=${tb}`, () => {
      const a = tf.tensor3d(
        randomValues(3 * 5 * 4, 12),
        ta ? [3, 4, 5] : [3, 5, 4],
      );
      const b = tf.tensor3d(
        randomValues(3 * 4 * 6, 13),
        tb ? [3, 6, 4] : [3, 4, 6],
      );
      const y = tf.matMul(a, b, ta, tb);
      const [da, db] = tf.grads((p: tf.Tensor, q: tf.Tensor) =>
        tf.matMul(p as tf.Tensor3D, q as tf.Tensor3D, ta, tb)
      )([a, b], tf.tensor3d(randomValues(3 * 5 * 6, 14), [3, 5, 6]));
      const broadcast = tf.matMul(
        a,
        tf.tensor2d(randomValues(24, 15), tb ? [6, 4] : [4, 6]),
        ta,
        tb,
      );
      return [y, da, db, broadcast];
    });
  }
});

interface DepthwiseCase {
  x: number[];
  f: number[];
  stride: number;
  pad: Pad;
}

const DEPTHWISE_CASES: DepthwiseCase[] = [
  { x: [2, 9, 8, 3], f: [3, 3, 3, 2], stride: 1, pad: "same" },
  { x: [2, 9, 8, 3], f: [3, 3, 3, 1], stride: 2, pad: "same" },
  { x: [2, 10, 7, 4], f: [5, 3, 4, 3], stride: 2, pad: "valid" },
  { x: [1, 8, 9, 2], f: [3, 3, 2, 2], stride: 1, pad: EXPLICIT },
  // multiplier 1: the SIMD filter gradient's 16-, 4- and 1-channel blocks
  { x: [2, 9, 7, 21], f: [5, 5, 21, 1], stride: 2, pad: "same" },
  { x: [1, 6, 8, 36], f: [3, 3, 36, 1], stride: 1, pad: "valid" },
  { x: [2, 7, 6, 16], f: [3, 3, 16, 1], stride: 1, pad: EXPLICIT },
];

for (const c of DEPTHWISE_CASES) {
  const name = `depthwise x${c.x} f${c.f} s${c.stride} ${
    JSON.stringify(c.pad)
  }`;
  Deno.test(`engine parity: ${name} forward and gradients`, async () => {
    await checkParity(name, () => {
      const x = t4(c.x, 21), f = t4(c.f, 22);
      const y = tf.depthwiseConv2d(x, f, c.stride, c.pad);
      const dy = t4(y.shape, 23);
      const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad)
      )([x, f], dy);
      return [y, dx, df];
    });
  });
}

// The cpu backend ignores dilation in the conv gradient kernels, so the
// reference is the undilated convolution with a zero-inserted filter.
type ConvOp = (
  x: tf.Tensor4D,
  f: tf.Tensor4D,
  dilation: number,
) => tf.Tensor4D;

async function checkDilatedGradients(
  label: string,
  op: ConvOp,
  kernels: [string, string],
  filterShape: [number, number, number, number],
): Promise<void> {
  const [KH, KW, C, M] = filterShape;
  const xShape = [2, 11, 10, C];
  const attrs = { strides: [1, 1], dilations: [2, 2], pad: "same" };
  const dilatedRef = await runOn(REFERENCE, () => {
    const x = t4(xShape, 31), f = t4(filterShape, 32);
    const fv = f.dataSync();
    const big = new Float32Array((2 * KH - 1) * (2 * KW - 1) * C * M);
    for (let ky = 0; ky < KH; ky++) {
      for (let kx = 0; kx < KW; kx++) {
        for (let j = 0; j < C * M; j++) {
          big[((2 * ky) * (2 * KW - 1) + 2 * kx) * C * M + j] =
            fv[(ky * KW + kx) * C * M + j];
        }
      }
    }
    const fd = tf.tensor4d(big, [2 * KH - 1, 2 * KW - 1, C, M]);
    const y = op(x, fd, 1);
    const [dx, dfd] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      op(a as tf.Tensor4D, b as tf.Tensor4D, 1)
    )([x, fd], t4(y.shape, 33));
    const df = tf.stridedSlice(dfd, [0, 0, 0, 0], dfd.shape, [2, 2, 1, 1]);
    return [y, dx, df];
  });
  for (const provider of FAST) {
    const got = await runOn(provider, () => {
      const x = t4(xShape, 31), f = t4(filterShape, 32);
      const y = op(x, f, 2);
      const dy = t4(y.shape, 33);
      const engine = tf.engine();
      const dx = engine.runKernel(
        kernels[0],
        { dy, filter: f },
        { ...attrs, inputShape: x.shape },
      ) as tf.Tensor;
      const df = engine.runKernel(
        kernels[1],
        { x, dy },
        { ...attrs, filterShape: f.shape },
      ) as tf.Tensor;
      return [y, dx, df];
    });
    for (let i = 0; i < 3; i++) {
      const err = relativeError(got[i], dilatedRef[i]);
      assert.ok(err <= TOL, `${label} ${provider.name} output ${i}: ${err}`);
    }
  }
}

Deno.test("engine parity: depthwise gradient kernels with dilation 2", async () => {
  await checkDilatedGradients(
    "dilated depthwise",
    (x, f, d) => tf.depthwiseConv2d(x, f, 1, "same", "NHWC", d),
    [
      "DepthwiseConv2dNativeBackpropInput",
      "DepthwiseConv2dNativeBackpropFilter",
    ],
    [3, 3, 3, 2],
  );
});

Deno.test("engine parity: conv2d gradient kernels with dilation 2", async () => {
  await checkDilatedGradients(
    "dilated conv2d",
    (x, f, d) => tf.conv2d(x, f, 1, "same", "NHWC", d),
    ["Conv2DBackpropInput", "Conv2DBackpropFilter"],
    [3, 3, 3, 4],
  );
});

Deno.test("engine parity: unsortedSegmentSum and the gather gradient", async () => {
  await checkParity("segments", () => {
    const x = tf.tensor2d(randomValues(6 * 4, 41), [6, 4]);
    const ids = tf.tensor1d([2, 0, 2, 1, 4, 0], "int32");
    const s = tf.unsortedSegmentSum(x, ids, 4); // id 4 is out of range: dropped
    const table = tf.tensor2d(randomValues(5 * 3, 42), [5, 3]);
    const idx = tf.tensor1d([1, 3, 1, 0], "int32");
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, idx))))(
      table,
    );
    return [s, g];
  });
});

Deno.test("engine parity: sum and mean over leading, middle and trailing axes", async () => {
  await checkParity("reductions", () => {
    const x = t4([3, 5, 4, 6], 51);
    return [
      tf.sum(x, [0, 1, 2]),
      tf.mean(x, [1, 2]),
      tf.sum(x, [0], true),
      tf.mean(x, [1, 2], true),
      tf.sum(x, [3]),
      tf.mean(x, [0, 2]),
      tf.sum(x),
    ];
  });
});

Deno.test("engine parity: batchNorm with per-channel, scalar and missing statistics", async () => {
  await checkParity("batchNorm", () => {
    const x = t4([2, 5, 3, 6], 61);
    const v = (n: number, seed: number, shift: number) =>
      tf.add(tf.tensor1d(randomValues(n, seed)), shift) as tf.Tensor1D;
    const mean = v(6, 62, 0), variance = v(6, 63, 1.5);
    const offset = v(6, 64, 0), scale = v(6, 65, 1);
    const x2 = tf.tensor2d(randomValues(7 * 4, 66), [7, 4]);
    const [dx] = tf.grads((a: tf.Tensor) =>
      tf.batchNorm(a, mean, variance, offset, scale, 1e-3)
    )([x], t4(x.shape, 67));
    return [
      tf.batchNorm(x, mean, variance, offset, scale, 1e-3),
      tf.batchNorm(x, mean, variance, undefined, undefined, 1e-5),
      tf.batchNorm(
        x,
        tf.scalar(0.3),
        tf.scalar(2),
        tf.scalar(0.1),
        tf.scalar(0.5),
      ),
      tf.batchNorm(x2, v(4, 68, 0), v(4, 69, 2), v(4, 70, 0), v(4, 71, 1)),
      // statistics with the rank of x take the original kernel
      tf.batchNorm(x, t4([2, 5, 3, 6], 72), tf.add(t4([2, 5, 3, 6], 73), 2)),
      dx,
    ];
  });
});

Deno.test("engine: forward columns kept for the filter gradient are all released", async () => {
  const { heldColumnBytes } = await import(
    "../plugins/backends/kernels/column_cache.ts"
  );
  for (const provider of FAST) {
    await provider.activate();
    const x = t4([2, 9, 8, 3], 81), f = t4([3, 3, 3, 4], 82);
    const g = t4([1, 1, 3, 4], 83);
    // one input, two geometries (3×3 and a strided 1×1), one gradient pass
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.add(
        tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same")),
        tf.sum(tf.conv2d(a as tf.Tensor4D, c as tf.Tensor4D, 2, "same")),
      )
    )([x, f, g]);
    assert.equal(heldColumnBytes(), 0, `${provider.name}: columns left held`);
    // a forward pass outside any gradient tape keeps nothing
    tf.conv2d(x, f, 1, "same").dispose();
    assert.equal(heldColumnBytes(), 0);
    // a recorded pass whose filter gradient is never taken: released once
    // its input is gone
    const [dx] = tf.grads((a: tf.Tensor) =>
      tf.sum(tf.conv2d(a as tf.Tensor4D, f, 1, "same"))
    )([x]);
    tf.dispose([...grads, dx, x, f, g]);
    tf.conv2d(t4([1, 5, 5, 3], 84), t4([3, 3, 3, 2], 85), 1, "same").dispose();
    assert.equal(heldColumnBytes(), 0, `${provider.name}: stale columns kept`);
  }
});
