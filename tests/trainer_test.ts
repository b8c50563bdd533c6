import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { learningRate, type ScheduleConfig } from "../core/train/schedule.ts";
import { clipByGlobalNorm, Optimizer } from "../core/train/optimizer.ts";
import { EventBus, type StepEvent } from "../core/events.ts";
import { snapshot, tinyModel, trainTiny } from "./foundation_helpers.ts";

const sched: ScheduleConfig = {
  type: "cosine",
  baseLr: 1,
  warmupSteps: 10,
  warmupFactor: 0.1,
  totalSteps: 110,
  boundaries: [0.5, 0.75],
  decayFactor: 0.1,
  minFactor: 0,
};

Deno.test("schedules: linear warm-up, cosine, step", () => {
  assert.equal(learningRate(sched, 0), 0.1);
  assert.ok(Math.abs(learningRate(sched, 5) - 0.55) < 1e-12);
  assert.equal(learningRate(sched, 10), 1);
  assert.ok(Math.abs(learningRate(sched, 60) - 0.5) < 1e-12); // halfway through the cosine
  assert.ok(Math.abs(learningRate(sched, 110)) < 1e-12);
  const step = { ...sched, type: "step" as const };
  assert.equal(learningRate(step, 54), 1);
  assert.ok(Math.abs(learningRate(step, 55) - 0.1) < 1e-12);
  assert.ok(Math.abs(learningRate(step, 83) - 0.01) < 1e-12);
});

Deno.test("SGD momentum and Adam match hand-computed updates", () => {
  const run = (type: "sgd" | "adam") => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const opt = new Optimizer({
      type,
      momentum: 0.9,
      nesterov: false,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 0,
      weightDecay: 0,
    });
    const vars = new Map([["w.kernel", w]]);
    for (let i = 0; i < 2; i++) {
      const g = tf.tensor1d([0.5, 1]);
      opt.apply(vars, new Map([["w.kernel", g]]), 0.1);
      g.dispose();
    }
    const out = Array.from(w.dataSync());
    w.dispose();
    opt.dispose();
    return out;
  };
  // SGD: v1 = g, w1 = w - 0.1 g; v2 = 0.9 g + g = 1.9 g; w2 = w1 - 0.19 g.
  const sgd = run("sgd");
  assert.ok(Math.abs(sgd[0] - (1 - 0.29 * 0.5)) < 1e-6);
  assert.ok(Math.abs(sgd[1] - (-2 - 0.29)) < 1e-6);
  // Adam with a constant gradient: bias-corrected m/sqrt(v) = sign(g), so each step moves lr.
  const adam = run("adam");
  assert.ok(Math.abs(adam[0] - 0.8) < 1e-5);
  assert.ok(Math.abs(adam[1] - -2.2) < 1e-5);
});

Deno.test("global-norm clipping scales gradients and reports the norm", async () => {
  const grads = new Map([["a", tf.tensor1d([3, 0])], [
    "b",
    tf.tensor1d([0, 4]),
  ]]);
  const norm = await clipByGlobalNorm(grads, 1);
  assert.ok(Math.abs(norm - 5) < 1e-6);
  assert.deepEqual(
    Array.from(grads.get("a")!.dataSync()).map((x) => +x.toFixed(6)),
    [0.6, 0],
  );
  assert.deepEqual(
    Array.from(grads.get("b")!.dataSync()).map((x) => +x.toFixed(6)),
    [0, 0.8],
  );
  tf.dispose([...grads.values()]);
});

Deno.test("tensor count stays flat over 200 training steps", async () => {
  const model = tinyModel(3);
  const before = tf.memory().numTensors;
  const counts: number[] = [];
  const events = new EventBus();
  events.on((e) => {
    if (e.type === "step" && e.step % 20 === 0) {
      counts.push(tf.memory().numTensors);
    }
  });
  await trainTiny(model, 200, 3, { phase: "leak-check", events });
  assert.equal(counts.length, 10);
  // After the first steps create optimizer slots, the count must not move
  // (the last step has no prefetched batch, hence one tensor less).
  assert.deepEqual(
    new Set(counts.slice(1, -1)).size,
    1,
    `tensor counts drifted: ${counts}`,
  );
  assert.equal(counts.at(-1), counts[1] - 1);
  assert.equal(tf.memory().numTensors, before, "train() left tensors behind");
  model.dispose();
});

Deno.test("same seed gives the same run; step events carry losses and lr", async () => {
  const run = async () => {
    const model = tinyModel(5);
    const steps: StepEvent[] = [];
    const events = new EventBus();
    events.on((e) => e.type === "step" && steps.push(e));
    await trainTiny(model, 6, 5, { events });
    const snap = snapshot(model);
    model.dispose();
    return { steps, snap };
  };
  const a = await run(), b = await run();
  assert.equal(a.steps.length, 6);
  assert.deepEqual(Object.keys(a.steps[0].losses), ["ce"]);
  assert.ok(Math.abs(a.steps[0].lr - 0.005) < 1e-12);
  assert.ok(
    a.steps.every((s) => s.imagesPerSec > 0 && Number.isFinite(s.loss)),
  );
  assert.deepEqual(a.steps.map((s) => s.loss), b.steps.map((s) => s.loss));
  for (const [k, v] of a.snap) assert.deepEqual(v, b.snap.get(k), k);
});
