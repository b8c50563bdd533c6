/**
 * Joint training (paper §5): L = L_det + W·L_cls on the shared backbone,
 * checked on hand values, W = 0 leaving training bit-identical, W > 0
 * training the backbone and the classification head, and the recipes'
 * `--joint.*` keys reaching every step.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { latestCheckpoint } from "../core/train/checkpoint.ts";
import { loadModelWeights } from "../recipes/phase.ts";
import { train } from "../core/train/trainer.ts";
import { jointLoss, jointPhase } from "../recipes/joint_training.ts";
import {
  classifierRegistry,
  snapshot,
  tinyLoader,
  tinyModel,
  tinyTrainerConfig,
} from "./foundation_helpers.ts";
import {
  readEvents,
  runTiny,
  tempOut,
  TINY_MODEL,
  tinyTrain,
} from "./recipe_helpers.ts";

const JOINT = {
  weight: 0.5,
  dataset: "synthetic-classes",
  batchSize: 4,
  inputSize: 16,
};

Deno.test("jointLoss: total = det + W * cls, components keep det's and add joint_cls", () => {
  const r = jointLoss(
    { total: tf.scalar(1.5), components: { box: tf.scalar(1) } },
    tf.scalar(2),
    0.25,
  );
  assert.equal(r.total.dataSync()[0], 2);
  assert.deepEqual(Object.keys(r.components), ["box", "joint_cls"]);
  assert.equal(r.components.joint_cls.dataSync()[0], 2);
});

Deno.test("the joint phase's loss is det + W * cross-entropy of the classification batch (zero head: ln 4)", async () => {
  const model = tinyModel(1);
  const jp = await jointPhase(classifierRegistry(), JOINT, {
    model,
    data: tinyLoader(0),
    loss: { fn: () => ({ total: tf.scalar(1.5), components: {} }) },
    seed: 0,
    phase: "t",
  });
  const head = jp.model.namedVariables().filter(([n]) =>
    n.startsWith("joint_head.")
  );
  assert.deepEqual(head.map(([n]) => n).sort(), [
    "joint_head.dense.bias",
    "joint_head.dense.kernel",
  ]);
  for (const [, v] of head) v.assign(tf.zerosLike(v));
  const batch = await jp.data.batchAt(0);
  const r = jp.loss.fn(batch, { training: false });
  // 4 classes, all logits 0: cross-entropy ln 4 whatever the labels.
  assert.ok(
    Math.abs(r.components.joint_cls.dataSync()[0] - Math.log(4)) < 1e-6,
  );
  assert.ok(Math.abs(r.total.dataSync()[0] - (1.5 + 0.5 * Math.log(4))) < 1e-6);
  jp.data.dispose(batch);
  jp.dispose();
  model.dispose();
});

async function trainWith(
  weight: number | null,
  checkpointDir?: string,
  steps = 3,
) {
  const model = tinyModel(3);
  const jp = await jointPhase(
    classifierRegistry(),
    weight === null ? undefined : { ...JOINT, weight },
    {
      model,
      data: tinyLoader(0, 4),
      loss: { fn: (b, c) => model.loss(b, c) },
      seed: 0,
      phase: "t",
    },
  );
  const headBefore = jp.model.namedVariables()
    .filter(([n]) => n.startsWith("joint_head."))
    .map(([, v]) => v.dataSync().slice());
  const r = await train({
    phase: "t",
    model: jp.model,
    config: { ...tinyTrainerConfig(steps), emaDecay: 0 },
    data: jp.data,
    loss: jp.loss.fn,
    checkpointDir,
  });
  const headAfter = jp.model.namedVariables()
    .filter(([n]) => n.startsWith("joint_head."))
    .map(([, v]) => v.dataSync().slice());
  const weights = snapshot(model);
  jp.dispose();
  model.dispose();
  return { weights, headBefore, headAfter, finalLoss: r.finalLoss };
}

Deno.test("W = 0 trains bit-identically to no joint training; W > 0 trains the backbone and the head differently", async () => {
  const plain = await trainWith(null);
  const zero = await trainWith(0);
  assert.deepEqual(zero.weights, plain.weights);
  assert.equal(zero.finalLoss, plain.finalLoss);
  const dir = await Deno.makeTempDir();
  const joint = await trainWith(0.5, dir);
  const differs = [...plain.weights].filter(([n, v]) =>
    n.startsWith("backbone.") &&
    joint.weights.get(n)!.some((x, i) => x !== v[i])
  );
  assert.ok(
    differs.length > 0,
    "the classification loss did not reach the backbone",
  );
  assert.ok(
    joint.headAfter.some((v, i) =>
      v.some((x, k) => x !== joint.headBefore[i][k])
    ),
    "the joint head did not train",
  );
  // Its checkpoints hold joint_head.* and still load into a plain detector.
  const model = tinyModel(9);
  await loadModelWeights(model, (await latestCheckpoint(dir))!);
  assert.deepEqual(snapshot(model), joint.weights);
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the classification batch leaves the detector's moving batch-norm statistics alone", async () => {
  // After one step both runs saw the same detection batch with the same
  // weights; only a classification forward could tell their statistics apart.
  const plain = await trainWith(null, undefined, 1);
  const joint = await trainWith(0.5, undefined, 1);
  const moving = [...plain.weights].filter(([n]) =>
    /moving_(mean|variance)$/.test(n)
  );
  assert.ok(moving.length > 0);
  for (const [n, v] of moving) assert.deepEqual(joint.weights.get(n), v, n);
});

Deno.test("coco-supervised --joint.weight trains with the classification loss at every step", async () => {
  const out = await tempOut("joint");
  try {
    await runTiny("coco-supervised", out, {
      ...TINY_MODEL,
      ...tinyTrain("train", 2),
      "joint.weight": "0.5",
      "joint.batchSize": "2",
      "joint.inputSize": "32",
    });
    const events = await readEvents(out);
    const steps = events.filter((e) => e.type === "step");
    assert.equal(steps.length, 2);
    for (const s of steps) {
      const l = s.losses as Record<string, number>;
      assert.ok(l.joint_cls > 0, JSON.stringify(l));
    }
    assert.ok(events.some((e) =>
      e.type === "log" &&
      /joint training with synthetic-classes \(4 classes, 2 images per step\), weight 0\.5/
        .test(String(e.message))
    ));
    await assert.rejects(
      () =>
        runTiny("coco-supervised", `${out}/bad`, {
          ...tinyTrain("train", 1),
          "joint.weight": "1",
          "joint.dataset": "nope",
        }),
      /joint\.dataset: unknown dataset "nope"; registered: /,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
