import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "../core/gradients.ts";
import { LossNormalizer } from "../selftrain/mod.ts";

await tf.setBackend("cpu");

function step(norm: LossNormalizer, h: number, p: number): number {
  return tf.tidy(() => norm.combine(tf.scalar(h), tf.scalar(p)).dataSync()[0]);
}

function close(actual: number, expected: number, what: string) {
  assert.ok(
    Math.abs(actual - expected) < 1e-6,
    `${what}: ${actual} vs ${expected}`,
  );
}

// Losses (L_h, L_p) per step and hand-computed values with decay 0.5:
// step 1: avgs (2, 1), r = 2,   alpha 1: 0.5*(2 + 2*1)   = 2;   alpha 2: (2 + 2*2*1)/3   = 2
// step 2: avgs (1.5, 2.5), r=.6 alpha 1: 0.5*(1 + .6*4)  = 1.7; alpha 2: (1 + 2*.6*4)/3  = 1.9333…
// step 3: avgs (2.25, 2.25), r=1 alpha 1: 0.5*(3 + 2)    = 2.5; alpha 2: (3 + 2*2)/3     = 2.3333…
const LOSSES: [number, number][] = [[2, 1], [1, 4], [3, 2]];

Deno.test("LossNormalizer: moving averages and weights vs hand values", () => {
  const one = new LossNormalizer({ alpha: 1, decay: 0.5 });
  const two = new LossNormalizer({ alpha: 2, decay: 0.5 });
  const expected1 = [2, 1.7, 2.5];
  const expected2 = [2, 5.8 / 3, 7 / 3];
  LOSSES.forEach(([h, p], i) => {
    close(step(one, h, p), expected1[i], `alpha 1 step ${i + 1}`);
    close(step(two, h, p), expected2[i], `alpha 2 step ${i + 1}`);
  });
  assert.deepEqual(one.getState(), {
    humanAvg: 2.25,
    pseudoAvg: 2.25,
    steps: 3,
  });
});

Deno.test("LossNormalizer: disabled is the alpha-weighted mean; ratio cap", () => {
  const off = new LossNormalizer({ enabled: false, decay: 0.5 });
  close(step(off, 2, 1), 1.5, "off step 1");
  close(step(off, 1, 4), 2.5, "off step 2");
  assert.equal(off.getState().steps, 2);
  const capped = new LossNormalizer({ decay: 0.5, maxRatio: 1.5 });
  close(step(capped, 2, 1), 0.5 * (2 + 1.5), "capped");
});

Deno.test("LossNormalizer: ratio is a constant for the gradient", () => {
  const norm = new LossNormalizer({ alpha: 1, decay: 0.5 });
  step(norm, 2, 1);
  const [gh, gp] = tf.tidy(() =>
    tf.grads((h: tf.Tensor, p: tf.Tensor) =>
      norm.combine(h as tf.Scalar, p as tf.Scalar)
    )([
      tf.scalar(1),
      tf.scalar(4),
    ]).map((g) => g.dataSync()[0])
  );
  close(gh, 0.5, "dL/dLh");
  close(gp, 0.5 * 0.6, "dL/dLp = alpha r / (1 + alpha)");
});

Deno.test("LossNormalizer: state round trip resumes identically; bad input named", () => {
  const a = new LossNormalizer({ decay: 0.5 });
  step(a, 2, 1);
  step(a, 1, 4);
  const b = new LossNormalizer({ decay: 0.5 });
  b.load(JSON.parse(JSON.stringify(a.save())));
  close(step(b, 3, 2), 2.5, "resumed step 3");
  assert.throws(() => a.observe(NaN, 1), /non-finite loss at step 3/);
  assert.throws(() => new LossNormalizer({ decay: 1 }), /0 <= decay < 1/);
  assert.throws(() => b.load({ humanAvg: "x" }), /bad saved state/);
  const before = tf.memory().numTensors;
  step(new LossNormalizer(), 1, 1);
  assert.equal(tf.memory().numTensors, before);
});
