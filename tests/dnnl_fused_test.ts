/**
 * native's fused conv + bias + activation on oneDNN post-ops
 * (plugins/backends/native/kernels_fused_dnnl.ts, FusedConv2D in
 * kernels_conv_dnnl.ts): every activation, plain and depthwise, odd sizes
 * and `valid` padding match the cpu backend's unfused ops; the fallback
 * (post-ops off) too; repeated runs are bit-identical; and EfficientNet-B0
 * at inference (expansion conv + swish and depthwise conv + folded batch
 * norm + swish through the fused kernel) matches cpu and the unfused path
 * with flat memory.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { loadDnnlConv } from "../plugins/backends/native/dnnl_loader.ts";
import {
  dnnlConvCounts,
  setDnnlPostOpsEnabled,
} from "../plugins/backends/native/kernels_conv_dnnl.ts";
import { setDnnlFusedEnabled } from "../plugins/backends/native/kernels_fused_dnnl.ts";
import { nativeBackend } from "../plugins/backends/native.ts";
import { activate } from "../plugins/layers/activations.ts";
import { FUSED_CONV_KERNEL } from "../plugins/layers/fold.ts";
import { withInitSeed } from "../core/nn/layers.ts";
import { Rng } from "../core/rng.ts";
import { createEfficientNetClassifier } from "../plugins/efficientnet/mod.ts";
import type { Activation } from "../core/contracts.ts";
import { randomValues, relativeError, runOn } from "./engine_helpers.ts";
import { dnnlTests, nativeMatchesCpu } from "./dnnl_helpers.ts";

const dnnlTest = dnnlTests("dnnl fused", loadDnnlConv);

type Shape = [number, number, number, number];

interface Case {
  x: Shape;
  w: Shape;
  stride: number;
  pad: "same" | "valid";
  depthwise: boolean;
  act: Activation;
}

function inputs(c: Case) {
  const x = tf.tensor4d(randomValues(tf.util.sizeFromShape(c.x), 5), c.x);
  const w = tf.tensor4d(randomValues(tf.util.sizeFromShape(c.w), 6), c.w);
  const channels = c.depthwise ? c.w[2] * c.w[3] : c.w[3];
  const b = tf.tensor1d(randomValues(channels, 7));
  return { x, w, b };
}

/** The fused kernel's output. */
function fused(c: Case) {
  return () => {
    const { x, w, b } = inputs(c);
    return [
      tf.engine().runKernel(FUSED_CONV_KERNEL, { x, filter: w, bias: b }, {
        strides: [c.stride, c.stride],
        pad: c.pad,
        dilations: 1,
        depthwise: c.depthwise,
        activation: c.act,
      }) as tf.Tensor,
    ];
  };
}

/** The same as separate tfjs ops. */
function unfused(c: Case) {
  return () => {
    const { x, w, b } = inputs(c);
    const y = c.depthwise
      ? tf.depthwiseConv2d(x, w, c.stride, c.pad)
      : tf.conv2d(x, w, c.stride, c.pad);
    return [activate(tf.add(y, b), c.act)];
  };
}

/** A plain conv: `k`×`k` from x's channels to `outC`. */
function conv(
  x: Shape,
  k: number,
  outC: number,
  stride: number,
  pad: Case["pad"],
  act: Activation,
): Case {
  return { x, w: [k, k, x[3], outC], stride, pad, depthwise: false, act };
}

/** A depthwise conv: `k`×`k`, channel multiplier 1. */
function dw(
  x: Shape,
  k: number,
  stride: number,
  pad: Case["pad"],
  act: Activation,
): Case {
  return { x, w: [k, k, x[3], 1], stride, pad, depthwise: true, act };
}

const CASES: [string, Case][] = [
  ["1x1 swish", conv([2, 9, 7, 24], 1, 40, 1, "same", "swish")],
  [
    "3x3 stride 2 swish, odd sizes",
    conv([1, 13, 11, 5], 3, 12, 2, "same", "swish"),
  ],
  ["3x3 valid sigmoid", conv([2, 8, 9, 16], 3, 8, 1, "valid", "sigmoid")],
  ["depthwise 3x3 swish", dw([2, 9, 8, 32], 3, 1, "same", "swish")],
  [
    "depthwise 5x5 stride 2 relu6, odd sizes",
    dw([1, 11, 13, 40], 5, 2, "same", "relu6"),
  ],
  [
    "depthwise 3x3 stride 2 valid relu",
    dw([3, 10, 10, 24], 3, 2, "valid", "relu"),
  ],
  ["depthwise 5x5 linear, 4x4 map", dw([3, 4, 4, 72], 5, 1, "same", "linear")],
];

for (const [name, c] of CASES) {
  dnnlTest(
    `dnnl fused conv: ${name}: matches cpu, post-op on and off`,
    async () => {
      const before = dnnlConvCounts.postOp;
      const { want: [want], got: [got] } = await nativeMatchesCpu(fused(c), {
        reference: unfused(c),
      });
      if (c.act !== "linear") {
        assert.ok(dnnlConvCounts.postOp > before, "ran with a post-op");
      }
      const [again] = await runOn(nativeBackend, fused(c));
      assert.deepEqual(again, got, "bit-identical on a second run");
      const was = setDnnlPostOpsEnabled(false);
      try {
        const [plain] = await runOn(nativeBackend, fused(c));
        assert.ok(relativeError(plain, want) <= 1e-4, "fallback matches cpu");
      } finally {
        setDnnlPostOpsEnabled(was);
      }
    },
  );
}

for (const act of ["relu", "relu6", "sigmoid"] as const) {
  dnnlTest(
    `dnnl fused conv: FusedConv2D ${act} runs as a post-op and matches cpu`,
    async () => {
      const c = conv([2, 10, 9, 8], 3, 16, 1, "same", act);
      const run = () => {
        const { x, w, b } = inputs(c);
        return [tf.fused.conv2d({
          x,
          filter: w,
          strides: 1,
          pad: "same",
          bias: b,
          activation: act,
        })];
      };
      const before = dnnlConvCounts.postOp;
      await nativeMatchesCpu(run, { reference: unfused(c) });
      assert.ok(dnnlConvCounts.postOp > before, "ran with a post-op");
    },
  );
}

/** EfficientNet-B0 with random batch-norm statistics, at inference. */
function efficientNetLogits(): () => tf.Tensor[] {
  return () => {
    const model = withInitSeed(
      3,
      () => createEfficientNetClassifier("b0", 10),
    );
    try {
      model.namedBuffers().forEach(([name, v], i) => {
        const values = randomValues(v.size, 100 + i);
        v.assign(
          tf.tensor(
            name.endsWith("variance")
              ? values.map((a) => 0.5 + Math.abs(a))
              : values.map((a) => 0.1 * a),
            v.shape,
          ),
        );
      });
      const x = tf.tensor4d(randomValues(2 * 48 * 48 * 3, 9), [2, 48, 48, 3]);
      return [model.apply(x, { training: false, rng: new Rng(1) })];
    } finally {
      model.dispose();
    }
  };
}

dnnlTest(
  "dnnl fused conv: EfficientNet-B0 inference matches cpu and the unfused path, memory flat",
  async () => {
    const before = dnnlConvCounts.postOp;
    const { got: [got] } = await nativeMatchesCpu(efficientNetLogits(), {
      tol: 1e-3,
    });
    assert.ok(dnnlConvCounts.postOp - before >= 16 + 15, "dw and expand fused");
    const was = setDnnlFusedEnabled(false);
    try {
      const [plain] = await runOn(nativeBackend, efficientNetLogits());
      assert.ok(relativeError(got, plain) <= 1e-3, "fused = unfused");
    } finally {
      setDnnlFusedEnabled(was);
    }
    const tensors = tf.memory().numTensors, bytes = tf.memory().numBytes;
    for (let i = 0; i < 2; i++) {
      await runOn(nativeBackend, efficientNetLogits());
    }
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.memory().numBytes, bytes);
  },
);
