/** EfficientNet backbone, classifier and efficientnet-fpn. */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { DEFAULT_SHARED } from "../core/contracts.ts";
import { withInitSeed } from "../core/nn/layers.ts";
import { Registry } from "../core/registry.ts";
import { Rng } from "../core/rng.ts";
import efficientnetPlugin, {
  createEfficientNetClassifier,
  EfficientNet,
  EFFICIENTNET_DEFAULTS,
  EFFICIENTNET_FPN_DEFAULTS,
  EfficientNetFpn,
  planEfficientNet,
  roundFilters,
  roundRepeats,
} from "../plugins/efficientnet/mod.ts";

await tf.setBackend("cpu");

function shapes(out: Record<number, tf.Tensor>): Record<number, number[]> {
  return Object.fromEntries(
    Object.entries(out).map(([l, t]) => [l, t.shape]),
  );
}

Deno.test("round_filters / round_repeats follow the reference", () => {
  assert.equal(roundFilters(32, 1.0), 32);
  assert.equal(roundFilters(32, 1.1), 32); // 35.2 → 32 (≥ 90%)
  assert.equal(roundFilters(1280, 1.1), 1408);
  assert.equal(roundFilters(16, 1.4), 24); // 22.4 → 24
  assert.equal(roundFilters(40, 1.8), 72);
  assert.equal(roundFilters(320, 2.0), 640);
  assert.equal(roundFilters(1, 1), 8); // never below the divisor
  assert.equal(roundRepeats(3, 3.1), 10);
  assert.equal(roundRepeats(1, 1.1), 2);
});

Deno.test("B0 plan: 16 blocks, endpoints C1-C5, linear drop-connect", () => {
  const plan = planEfficientNet(EFFICIENTNET_DEFAULTS);
  assert.equal(plan.blocks.length, 16);
  assert.deepEqual(
    plan.endpoints.map((e) => [e.level, e.block, e.channels]),
    [[1, 0, 16], [2, 2, 24], [3, 4, 40], [4, 10, 112], [5, 15, 320]],
  );
  assert.equal(plan.blocks[0].dropRate, 0);
  assert.ok(Math.abs(plan.blocks[15].dropRate - 0.2 * 15 / 16) < 1e-12);
  // SE squeezes to a quarter of the block *input* width.
  assert.equal(plan.blocks[1].seChannels, 4); // input 16
  assert.equal(plan.blocks[2].seChannels, 6); // input 24, expanded 144
  assert.equal(
    planEfficientNet({ ...EFFICIENTNET_DEFAULTS, variant: "b7" }).blocks.length,
    55,
  );
});

Deno.test("EfficientNet-B0 outputs C1-C5 with outputChannels, no leaks", () => {
  const net = withInitSeed(1, () => new EfficientNet());
  assert.deepEqual(net.outputChannels, { 1: 16, 2: 24, 3: 40, 4: 112, 5: 320 });
  const before = tf.memory().numTensors;
  const s = tf.tidy(() =>
    shapes(net.apply(tf.zeros([2, 64, 64, 3]), { training: true }))
  );
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(s, {
    1: [2, 32, 32, 16],
    2: [2, 16, 16, 24],
    3: [2, 8, 8, 40],
    4: [2, 4, 4, 112],
    5: [2, 2, 2, 320],
  });
  net.dispose();
});

Deno.test("classifier: logits shape, BN modes, dropout and drop-connect seeded", () => {
  const empty = tf.memory().numTensors;
  const model = withInitSeed(2, () => createEfficientNetClassifier("b0", 10));
  assert.deepEqual(model.inputSize, [224, 224]);
  const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const run = (training: boolean, seed = 0) =>
    tf.tidy(() =>
      Array.from(model.apply(x, { training, rng: new Rng(seed) }).dataSync())
    );
  const inf = run(false);
  // the first inference folds each batch norm into its conv and keeps that
  const before = tf.memory().numTensors;
  assert.equal(inf.length, 20);
  assert.deepEqual(run(false, 5), inf, "inference is deterministic");
  const t1 = run(true, 1);
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(run(true, 1), t1, "same rng, same training output");
  assert.notDeepEqual(run(true, 2), t1, "rng drives dropout / drop-connect");
  assert.notDeepEqual(run(false), inf, "training moved the BN statistics");
  assert.equal(tf.memory().numTensors, before, "refolding replaces, not adds");
  x.dispose();
  model.dispose();
  assert.equal(tf.memory().numTensors, empty, "dispose frees the folds too");
  assert.throws(() => createEfficientNetClassifier("b0", 0), /numClasses/);
  assert.throws(
    () => createEfficientNetClassifier("b8"),
    /unknown variant "b8"/,
  );
});

Deno.test("efficientnet-fpn outputs P3-P7 at fpnFilters", () => {
  const net = withInitSeed(
    3,
    () => new EfficientNetFpn({ ...EFFICIENTNET_FPN_DEFAULTS, fpnFilters: 32 }),
  );
  assert.deepEqual(net.outputChannels, { 3: 32, 4: 32, 5: 32, 6: 32, 7: 32 });
  // warm up: inference keeps each conv's folded batch norm
  tf.tidy(() => net.apply(tf.zeros([1, 32, 32, 3]), { training: false }));
  const before = tf.memory().numTensors;
  for (const [h, w] of [[64, 64], [72, 100]]) {
    const s = tf.tidy(() =>
      shapes(net.apply(tf.zeros([1, h, w, 3]), { training: false }))
    );
    for (const l of [3, 4, 5, 6, 7]) {
      assert.deepEqual(s[l], [
        1,
        Math.ceil(h / 2 ** l),
        Math.ceil(w / 2 ** l),
        32,
      ]);
    }
  }
  assert.equal(tf.memory().numTensors, before);
  net.dispose();
});

Deno.test("plugin registers b0-b7 and efficientnet-fpn; config is checked", () => {
  const reg = new Registry().use(efficientnetPlugin);
  assert.deepEqual(reg.list("backbone"), [
    "efficientnet-b0",
    "efficientnet-b1",
    "efficientnet-b2",
    "efficientnet-b3",
    "efficientnet-b4",
    "efficientnet-b5",
    "efficientnet-b6",
    "efficientnet-b7",
    "efficientnet-fpn",
  ]);
  const fpn = reg.create("backbone", "efficientnet-fpn", { fpnFilters: 16 });
  assert.equal(fpn.outputChannels[7], 16);
  fpn.dispose();
  assert.throws(
    () =>
      reg.create("backbone", "efficientnet-b0", {}, {
        shared: { ...DEFAULT_SHARED, activation: "relu6" },
      }),
    /plugins\/efficientnet: activation must be swish or relu/,
  );
  // `auto` is EfficientNet's own swish; relu is taken when given.
  const auto = reg.create("backbone", "efficientnet-b0") as EfficientNet;
  assert.equal(auto.plan.norm.activation, "swish");
  auto.dispose();
  const relu = reg.create("backbone", "efficientnet-b0", {}, {
    shared: { bnMomentum: 0.9, bnEpsilon: 1e-4, activation: "relu" },
  }) as EfficientNet;
  assert.deepEqual(relu.plan.norm, {
    activation: "relu",
    bnMomentum: 0.9,
    bnEpsilon: 1e-4,
  });
  relu.dispose();
  assert.throws(
    () => reg.create("backbone", "efficientnet-b0", { seRatio: 2 }),
    /seRatio must be in \[0, 1\]/,
  );
});
