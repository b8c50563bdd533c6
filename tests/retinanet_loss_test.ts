// Focal, Huber and the full RetinaNet loss against hand-computed values.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "../core/gradients.ts";
import {
  huberLoss,
  RETINANET_LOSS_DEFAULTS,
  RetinaNetLoss,
  sigmoidFocalLoss,
} from "../plugins/retinanet/mod.ts";

await tf.setBackend("cpu");

function near(actual: ArrayLike<number>, expected: number[], tol = 1e-5) {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <=
        tol * Math.max(1, Math.abs(expected[i])),
      `index ${i}: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

Deno.test("focal loss: hand values at α=0.25, γ=1.5", () => {
  // α_t (1 - p_t)^γ (-log p_t), computed by hand (Python, float64).
  const x = tf.tensor1d([0, 0, 2, -3, 1.5]);
  const z = tf.tensor1d([1, 0, 0, 1, 1]);
  const l = sigmoidFocalLoss(x, z, 0.25, 1.5);
  near(l.dataSync(), [
    0.0612661340,
    0.1837984019,
    1.3186448775,
    0.7085766293,
    0.0039233451,
  ]);
  tf.dispose([x, z, l]);
});

Deno.test("focal loss: γ=0 is α-weighted cross-entropy; extreme logits stay finite", () => {
  const x = tf.tensor1d([0, 100, -100, 100, -100]);
  const z = tf.tensor1d([1, 0, 1, 1, 0]);
  const ce = sigmoidFocalLoss(x, z, 0.5, 0);
  // 0.5·ln2, 0.5·100 (wrong and confident), 0.5·100, ~0, ~0.
  near(ce.dataSync(), [0.5 * Math.LN2, 50, 50, 0, 0]);
  const fl = sigmoidFocalLoss(x, z, 0.25, 1.5);
  near(fl.dataSync(), [0.25 * Math.pow(0.5, 1.5) * Math.LN2, 75, 25, 0, 0]);
  const g = tf.grad((v: tf.Tensor) =>
    tf.sum(sigmoidFocalLoss(v, z, 0.25, 1.5))
  )(x);
  assert.ok(g.dataSync().every(Number.isFinite));
  tf.dispose([x, z, ce, fl, g]);
});

Deno.test("focal loss: gradient matches the analytic derivative", () => {
  // d/dx at x=0, z=1: α (1-p)^γ (γ p log p - (1-p)) = -0.0901438; the others
  // are central differences of the float64 formula.
  const x = tf.tensor1d([0, 0, 2, -1]);
  const z = tf.tensor1d([1, 0, 0, 1]);
  const g = tf.grad((v: tf.Tensor) =>
    tf.sum(sigmoidFocalLoss(v, z, 0.25, 1.5))
  )(x);
  near(
    g.dataSync(),
    [-0.0901437743, 0.2704313229, 0.7818527634, -0.1970288064],
    1e-4,
  );
  tf.dispose([x, z, g]);
});

Deno.test("huber loss: both branches at δ=0.1", () => {
  const d = tf.tensor1d([0.05, 0.3, -1, 0, -0.1]);
  const h = huberLoss(d, 0.1);
  near(h.dataSync(), [0.00125, 0.025, 0.095, 0, 0.005]);
  tf.dispose([d, h]);
});

Deno.test("retinanet loss: normalisation by positives + 1, ignore and box masks", () => {
  const before = tf.memory().numTensors;
  // One image, three anchors, two classes; anchor 0 positive (class 1),
  // anchor 1 negative, anchor 2 ignored.
  const out = {
    cls: tf.zeros([1, 3, 2]) as tf.Tensor3D,
    box: tf.tensor3d([[[0.05, 0.3, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1]]]),
  };
  const targets = {
    labels: tf.tensor2d([[1, -1, -2]], [1, 3], "int32"),
    boxes: tf.zeros([1, 3, 4]) as tf.Tensor3D,
    numPositives: tf.tensor1d([1]),
  };
  const r = new RetinaNetLoss().compute(out, targets);
  // cls: (FL(0,1) + 3·FL(0,0)) / 2; box: (0.00125 + 0.025) / (4·2).
  const cls = (0.0612661340 + 3 * 0.1837984019) / 2;
  const box = 0.02625 / 8;
  near(r.components.cls.dataSync(), [cls]);
  near(r.components.box.dataSync(), [box]);
  near(r.total.dataSync(), [cls + 50 * box]);
  tf.dispose([r.total, r.components.cls, r.components.box]);
  tf.dispose([
    out.cls,
    out.box,
    targets.labels,
    targets.boxes,
    targets.numPositives,
  ]);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("retinanet loss: positives summed over the batch; shape mismatch fails", () => {
  const out = {
    cls: tf.zeros([2, 1, 1]) as tf.Tensor3D,
    box: tf.zeros([2, 1, 4]) as tf.Tensor3D,
  };
  const targets = {
    labels: tf.tensor2d([[0], [0]], [2, 1], "int32"),
    boxes: tf.zeros([2, 1, 4]) as tf.Tensor3D,
    numPositives: tf.tensor1d([1, 1]),
  };
  const r = new RetinaNetLoss().compute(out, targets);
  near(r.components.cls.dataSync(), [2 * 0.0612661340 / 3]);
  const bad = { ...targets, labels: tf.zeros([2, 5], "int32") as tf.Tensor2D };
  assert.throws(() => new RetinaNetLoss().compute(out, bad), /anchors/);
  assert.throws(
    () => new RetinaNetLoss({ ...RETINANET_LOSS_DEFAULTS, alpha: 2 }),
    /alpha/,
  );
  tf.dispose([r.total, r.components.cls, r.components.box, out.cls, out.box]);
  tf.dispose([targets.labels, targets.boxes, targets.numPositives, bad.labels]);
});
