/**
 * Soft pseudo-labels for detection: the soft focal loss against hand values
 * (and equal to the focal loss on 0/1 targets), the teacher hook's targets,
 * the loss over every anchor with soft targets, and `--pseudo.labeler=soft`
 * end to end.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import {
  sigmoidFocalLoss,
  softFocalLoss,
} from "../plugins/retinanet/focal_loss.ts";
import { RetinaNetLoss } from "../plugins/retinanet/loss.ts";
import { softTargetHook } from "../recipes/mixed_training.ts";
import type { TaskModel } from "../core/model.ts";
import {
  readEvents,
  runTinySelfTrain,
  tempOut,
  tinyTrain,
} from "./recipe_helpers.ts";

await tf.setBackend("cpu");

const close = (a: number, b: number, tol = 1e-6) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

Deno.test("soft focal loss: hand values, and the focal loss itself on 0/1 targets", () => {
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  const softplus = (x: number) => Math.log1p(Math.exp(x));
  const [alpha, gamma] = [0.25, 1.5];
  const xs = [-2, 0.3, 1.7];
  const ys = [0.5, 0.9, 0.2];
  const got = tf.tidy(() =>
    softFocalLoss(tf.tensor1d(xs), tf.tensor1d(ys), alpha, gamma).dataSync()
  );
  xs.forEach((x, i) => {
    const y = ys[i];
    const want = (alpha * y + (1 - alpha) * (1 - y)) *
      Math.abs(y - sig(x)) ** gamma * (softplus(x) - x * y);
    close(got[i], want);
  });
  // y = 1 at x = 2: 0.25 * (1 - σ(2))^1.5 * softplus(-2), by hand.
  const one = tf.tidy(() =>
    softFocalLoss(tf.tensor1d([2]), tf.tensor1d([1]), alpha, gamma)
      .dataSync()[0]
  );
  close(one, 0.25 * (1 - sig(2)) ** 1.5 * softplus(-2));
  const logits = tf.tensor2d([[-3, 0.5], [2.5, -0.1]]);
  const hard = tf.tensor2d([[0, 1], [1, 0]]);
  const a = tf.tidy(() => softFocalLoss(logits, hard, alpha, gamma).dataSync());
  const b = tf.tidy(() =>
    sigmoidFocalLoss(logits, hard, alpha, gamma).dataSync()
  );
  a.forEach((v, i) => close(v, b[i], 1e-5));
  tf.dispose([logits, hard]);
});

Deno.test("retinanet loss: soft targets replace one-hot labels over every anchor", () => {
  // 1 image, 3 anchors, 2 classes; anchor 2 is an ignore anchor (-2).
  const out = {
    cls: tf.tensor3d([[[0.2, -1], [1.5, 0.3], [-0.7, 2]]]),
    box: tf.zeros([1, 3, 4]) as tf.Tensor3D,
  };
  const targets = {
    labels: tf.tensor2d([[1, -1, -2]], undefined, "int32"),
    boxes: tf.zeros([1, 3, 4]) as tf.Tensor3D,
    numPositives: tf.tensor1d([1]),
  };
  const soft = tf.tensor3d([[[0.1, 0.8], [0.3, 0], [0.5, 0.6]]]);
  const loss = new RetinaNetLoss();
  const withSoft = loss.compute(out, { ...targets, soft });
  // Normaliser P + 1 = 2; every anchor counts, the ignore one included.
  const want = tf.tidy(() =>
    tf.sum(softFocalLoss(out.cls, soft, 0.25, 1.5)).dataSync()[0] / 2
  );
  close(withSoft.components.cls.dataSync()[0], want);
  const hard = loss.compute(out, targets);
  assert.notEqual(
    hard.components.cls.dataSync()[0],
    withSoft.components.cls.dataSync()[0],
  );
  assert.throws(
    () => loss.compute(out, { ...targets, soft: tf.zeros([1, 3, 3]) }),
    /soft targets are \[1,3,3\], class outputs \[1,3,2\]/,
  );
  tf.dispose([out.cls, out.box, ...Object.values(targets), soft]);
  tf.dispose([withSoft.total, hard.total]);
});

Deno.test("soft target hook: sigmoid(teacher logit / T) on the pseudo half's images", () => {
  const logits = tf.tensor3d([[[2, -1]], [[0, 4]]]);
  const seen: number[][] = [];
  const teacher = {
    forward: (images: tf.Tensor4D, ctx: { training: boolean }) => {
      assert.equal(ctx.training, false);
      seen.push(images.shape);
      return { cls: logits, box: tf.zeros([2, 1, 4]) };
    },
  } as unknown as TaskModel;
  const hook = softTargetHook(teacher, 0.5);
  const images = tf.zeros([2, 4, 4, 3]) as tf.Tensor4D;
  const labels = tf.zeros([2, 1], "int32");
  const t = hook(images, { labels }) as { labels: tf.Tensor; soft: tf.Tensor };
  assert.equal(t.labels, labels);
  assert.deepEqual(seen, [[2, 4, 4, 3]]);
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  Array.from(t.soft.dataSync()).forEach((v, i) =>
    close(v, sig([2, -1, 0, 4][i] / 0.5))
  );
  assert.throws(() => softTargetHook(teacher, 0), /temperature must be > 0/);
  tf.dispose([logits, images, labels, t.soft]);
});

Deno.test("coco-selftrain: --pseudo.labeler=soft trains the student on the teacher's probabilities", async () => {
  const out = await tempOut("soft");
  try {
    const { report } = await runTinySelfTrain(out, {
      ...tinyTrain("student", 2),
      "pseudo.labeler": "soft",
    });
    const steps = (await readEvents(out)).filter((e) =>
      e.type === "step" && e.phase === "student"
    ) as unknown as { losses: Record<string, number> }[];
    assert.equal(steps.length, 2);
    for (const s of steps) assert.ok(Number.isFinite(s.losses.pseudo_cls));
    assert.ok((report.student as { metrics: object }).metrics);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
