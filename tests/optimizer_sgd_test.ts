/**
 * The fused SGD-momentum kernel (plugins/backends/kernels/sgd.ts) that
 * wasm and native register for core/train/optimizer.ts: bit-identical to
 * the optimizer's tfjs ops on the pure-JS `cpu` backend, over weight decay,
 * Nesterov, sizes that are not a multiple of the SIMD width, and through
 * several steps of the Optimizer itself, without leaking tensors.
 */
import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import {
  Optimizer,
  SGD_MOMENTUM_KERNEL,
  type SgdMomentumAttrs,
  sgdMomentumUpdate,
} from "../core/train/optimizer.ts";
import { FAST, randomValues, REFERENCE, runOn } from "./engine_helpers.ts";
import { optimizerConfig } from "../recipes/train_config.ts";

const SHAPES: number[][] = [[3, 3, 5, 7], [1], [6], [64]];
const SETTINGS: SgdMomentumAttrs[] = [
  { lr: 0.1, momentum: 0.9, weightDecay: 0, nesterov: false },
  { lr: 0.01, momentum: 0.9, weightDecay: 4e-5, nesterov: false },
  { lr: 0.05, momentum: 0.8, weightDecay: 1e-4, nesterov: true },
];

function update(shape: number[], a: SgdMomentumAttrs, seed: number) {
  const n = shape.reduce((x, y) => x * y, 1);
  return () => {
    const [v, m, g] = [0, 1, 2].map((k) =>
      tf.tensor(randomValues(n, seed + k), shape)
    );
    return sgdMomentumUpdate(v, m, g, a);
  };
}

for (const provider of FAST) {
  Deno.test(`sgd kernel on ${provider.name}: bit-identical to the ops on cpu`, async () => {
    await provider.activate();
    assert.ok(
      tf.getKernel(SGD_MOMENTUM_KERNEL, tf.getBackend()),
      `${provider.name} should register ${SGD_MOMENTUM_KERNEL}`,
    );
    let seed = 1;
    for (const shape of SHAPES) {
      for (const a of SETTINGS) {
        seed += 3;
        const before = tf.memory().numTensors;
        const got = await runOn(provider, update(shape, a, seed));
        assert.equal(tf.memory().numTensors, before, "no tensor leaked");
        const want = await runOn(REFERENCE, update(shape, a, seed));
        for (const k of [0, 1]) {
          assert.deepEqual(
            got[k],
            want[k],
            `${["variable", "momentum"][k]} of ${shape} ${JSON.stringify(a)}`,
          );
        }
      }
    }
  });

  Deno.test(`sgd on ${provider.name}: five Optimizer steps match cpu's`, async () => {
    const run = async (p: typeof provider) => {
      await p.activate();
      const vars = new Map([
        ["conv/kernel", tf.variable(tf.tensor(randomValues(90, 7), [90]))],
        ["bn/gamma", tf.variable(tf.tensor(randomValues(5, 8), [5]))],
      ]);
      const opt = new Optimizer(optimizerConfig("sgd", 0.9, 1e-4));
      for (let step = 0; step < 5; step++) {
        const grads = new Map(
          [...vars].map(([name, v]) => [
            name,
            tf.tensor(randomValues(v.size, 20 + step), v.shape),
          ]),
        );
        opt.apply(vars, grads, 0.1);
        tf.dispose([...grads.values()]);
      }
      const out = [
        ...[...vars.values()].map((v) => v.dataSync() as Float32Array),
        ...[...opt.state().slots.values()].map((s) =>
          s.dataSync() as Float32Array
        ),
      ];
      opt.dispose();
      tf.dispose([...vars.values()]);
      return out;
    };
    const got = await run(provider), want = await run(REFERENCE);
    assert.equal(got.length, 4);
    assert.deepEqual(got, want);
  });
}

for (const provider of FAST) {
  Deno.test(`sgd kernel on ${provider.name}: updates an unshared momentum in place; the variable gets a new buffer each step`, async () => {
    await provider.activate();
    const opt = new Optimizer(optimizerConfig("sgd", 0.9, 1e-4));
    const v = tf.tidy(() => tf.variable(tf.tensor(randomValues(90, 3), [90])));
    const vars = new Map([["w/kernel", v]]);
    // Without inPlace (a plain call) even an unshared input keeps its values.
    tf.tidy(() => {
      const [m, g] = [tf.zeros([90]), tf.ones([90])];
      sgdMomentumUpdate(v, m, g, SETTINGS[1]);
      assert.deepEqual(m.dataSync(), new Float32Array(90));
    });
    const step = () => {
      const g = new Map([["w/kernel", tf.tensor(randomValues(90, 4), [90])]]);
      opt.apply(vars, g, 0.1);
      tf.dispose([...g.values()]);
    };
    step();
    const buffers = tf.memory().numDataBuffers;
    const momentum = () => opt.state().slots.get("momentum/w/kernel")!.dataId;
    const [vId, mId] = [v.dataId, momentum()];
    for (let i = 0; i < 3; i++) step();
    assert.equal(momentum(), mId, "the momentum kept its buffer");
    assert.notEqual(v.dataId, vId, "the variable has a new dataId");
    assert.equal(tf.memory().numDataBuffers, buffers, "no buffer added");
    opt.dispose();
    v.dispose();
  });

  // Caches of derived weights (Winograd's transformed filters at inference,
  // folded batch norm) key on a variable's dataId: an update written into
  // the same buffer would leave them stale.
  Deno.test(`sgd on ${provider.name}: a convolution after an optimizer step uses the new weights, not a cached transform of the old`, async () => {
    await provider.activate();
    const w = tf.tidy(() =>
      tf.variable(tf.tensor(randomValues(9 * 32 * 32, 1), [3, 3, 32, 32]))
    );
    const x = tf.tensor(randomValues(40 * 40 * 32, 2), [1, 40, 40, 32]);
    const conv = (f: tf.Tensor) =>
      tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, "same");
    tf.dispose(conv(w)); // cached at inference
    const opt = new Optimizer(optimizerConfig("sgd", 0.9, 0));
    const g = new Map([["w/kernel", tf.onesLike(w)]]);
    opt.apply(new Map([["w/kernel", w]]), g, 0.5);
    const largestError = tf.tidy(() =>
      tf.max(tf.abs(tf.sub(conv(w), conv(tf.add(w, 0))))).dataSync()[0]
    );
    assert.equal(largestError, 0);
    tf.dispose([x, w, ...g.values()]);
    opt.dispose();
  });
}
