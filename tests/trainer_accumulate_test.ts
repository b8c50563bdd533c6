/**
 * Gradient accumulation in the trainer: K micro-batches per step give the
 * step of their concatenation (for a loss that is a mean over rows and no
 * batch statistics), batches are requested in order exactly once, the
 * reported loss is the micro-batches' mean, and a resumed run ends where a
 * straight one does.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { EventBus } from "../core/events.ts";
import { Dense, withInitSeed } from "../core/nn/layers.ts";
import { Module } from "../core/nn/module.ts";
import { latestCheckpoint } from "../core/train/checkpoint.ts";
import { type BatchSource, train } from "../core/train/trainer.ts";
import {
  assertSameWeights,
  crashingLoader,
  tinyLoader,
  tinyModel,
  tinyTrainerConfig,
  trainTiny,
} from "./foundation_helpers.ts";

await tf.setBackend("cpu");

class Linear extends Module {
  readonly dense: Dense;
  constructor() {
    super();
    this.dense = this.child("dense", new Dense(3, 2));
  }
}

interface Rows {
  x: tf.Tensor2D;
  y: tf.Tensor2D;
}

/** Deterministic rows `start .. start + n − 1` of a regression problem. */
function rows(start: number, n: number): Rows {
  const x: number[] = [], y: number[] = [];
  for (let i = start; i < start + n; i++) {
    x.push(Math.sin(i), Math.cos(2 * i), (i % 5) - 2);
    y.push(i % 3, -(i % 2));
  }
  return { x: tf.tensor2d(x, [n, 3]), y: tf.tensor2d(y, [n, 2]) };
}

/** Batch `b` holds rows `b·size …`; calls are recorded. */
function source(size: number, calls: number[]): BatchSource<Rows> {
  return {
    batchAt: (b) => {
      calls.push(b);
      return Promise.resolve(rows(b * size, size));
    },
    sizeOf: (r) => r.x.shape[0],
    dispose: (r) => tf.dispose([r.x, r.y]),
  };
}

async function run(
  micro: number,
  size: number,
  steps: number,
): Promise<{ weights: Float32Array[]; calls: number[]; losses: number[] }> {
  const model = withInitSeed(3, () => new Linear());
  const calls: number[] = [], losses: number[] = [];
  const events = new EventBus();
  events.on((e) => e.type === "step" && losses.push(e.loss));
  await train<Rows>({
    phase: "acc",
    model,
    config: {
      ...tinyTrainerConfig(steps),
      emaDecay: 0,
      clipNorm: 0,
      accumulate: micro,
    },
    data: source(size, calls),
    loss: (b) => {
      const total = tf.losses.meanSquaredError(
        b.y,
        model.dense.apply(b.x),
      ) as tf.Scalar;
      return { total, components: {} };
    },
    events,
  });
  const weights = model.namedVariables().map(([, v]) =>
    v.dataSync() as Float32Array
  );
  model.dispose();
  return { weights, calls, losses };
}

Deno.test("accumulate: 2 micro-batches of 4 make the step of one batch of 8", async () => {
  const split = await run(2, 4, 5);
  const whole = await run(1, 8, 5);
  assert.deepEqual(split.calls, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(whole.calls, [0, 1, 2, 3, 4]);
  split.weights.forEach((w, k) =>
    w.forEach((v, i) =>
      assert.ok(
        Math.abs(v - whole.weights[k][i]) < 1e-5,
        `variable ${k}[${i}]: ${v} vs ${whole.weights[k][i]}`,
      )
    )
  );
  split.losses.forEach((l, i) =>
    assert.ok(Math.abs(l - whole.losses[i]) < 1e-5, `loss ${i}`)
  );
  // The updates did something: a step of 4 rows alone goes elsewhere.
  const half = await run(1, 4, 5);
  assert.ok(
    half.weights[0].some((v, i) => Math.abs(v - whole.weights[0][i]) > 1e-3),
  );
  await assert.rejects(() => run(0, 4, 1), /accumulate must be a whole number/);
});

Deno.test("accumulate: a resumed run ends where a straight one does", async () => {
  const config = { ...tinyTrainerConfig(6), accumulate: 2, checkpointEvery: 2 };
  const straight = tinyModel(5);
  await trainTiny(straight, 6, 5, {
    phase: "a",
    config,
    data: tinyLoader(5, 4),
  });

  const dir = await Deno.makeTempDir();
  const first = tinyModel(5);
  await trainTiny(first, 6, 5, {
    phase: "b",
    config,
    // Crash when micro-batch 7 (step 4's second) is needed.
    data: crashingLoader(5, 7, 4),
    checkpointDir: dir,
  }).catch((e) => assert.equal(e.message, "killed"));
  assert.match((await latestCheckpoint(dir))!, /step-00000002$/);

  const resumed = tinyModel(77);
  const r = await trainTiny(resumed, 6, 5, {
    phase: "b",
    config,
    data: tinyLoader(5, 4),
    checkpointDir: dir,
    resume: true,
  });
  assert.equal(r.startStep, 2);
  assertSameWeights(straight, resumed);
  for (const m of [straight, first, resumed]) m.dispose();
  await Deno.remove(dir, { recursive: true });
});
