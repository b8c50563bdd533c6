/** SpineNet backbone: shapes, plan, BN modes, determinism, leaks, registry. */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import type { SharedSettings } from "../core/contracts.ts";
import { withInitSeed } from "../core/nn/layers.ts";
import {
  DEFAULT_NORM_ACT,
  type NormActConfig,
} from "../plugins/layers/conv_bn.ts";
import { Registry } from "../core/registry.ts";
import { Rng } from "../core/rng.ts";
import spinenetPlugin, {
  planSpineNet,
  SpineNet,
  SPINENET_BLOCK_SPECS,
  SPINENET_DEFAULTS,
  type SpineNetConfig,
  spineNetScaling,
} from "../plugins/spinenet/mod.ts";

await tf.setBackend("cpu");

const tiny: SpineNetConfig = { ...SPINENET_DEFAULTS, variant: "tiny" };

function build(
  config: SpineNetConfig,
  seed = 1,
  norm: NormActConfig = DEFAULT_NORM_ACT,
): SpineNet {
  return withInitSeed(seed, () => new SpineNet(config, norm));
}

Deno.test("spinenet-tiny outputs P3-P7 at ceil(size / stride)", () => {
  const net = build(tiny);
  // warm up: inference keeps each conv's folded batch norm
  tf.tidy(() => net.apply(tf.zeros([1, 32, 32, 3]), { training: false }));
  for (const [h, w] of [[64, 64], [72, 100]]) {
    const before = tf.memory().numTensors;
    const shapes = tf.tidy(() => {
      const out = net.apply(tf.zeros([2, h, w, 3]), { training: false });
      return Object.fromEntries(
        Object.entries(out).map(([l, t]) => [l, t.shape]),
      );
    });
    assert.equal(tf.memory().numTensors, before, "forward leaks no tensor");
    assert.deepEqual(Object.keys(shapes).map(Number), [3, 4, 5, 6, 7]);
    for (const l of [3, 4, 5, 6, 7]) {
      assert.deepEqual(shapes[l], [
        2,
        Math.ceil(h / 2 ** l),
        Math.ceil(w / 2 ** l),
        net.outputChannels[l],
      ]);
    }
  }
  assert.deepEqual(net.outputChannels, { 3: 64, 4: 64, 5: 64, 6: 64, 7: 64 });
  net.dispose();
});

Deno.test("every variant small enough for CPU builds and runs; outputs match outputChannels", () => {
  for (const variant of ["49XS", "49S"]) {
    const net = build({ ...SPINENET_DEFAULTS, variant }, 1, {
      ...DEFAULT_NORM_ACT,
      activation: "swish",
    });
    const ep = spineNetScaling(variant).endpointFilters;
    const before = tf.memory().numTensors;
    const shapes = tf.tidy(() =>
      Object.entries(net.apply(tf.zeros([1, 64, 64, 3]), { training: true }))
        .map(([l, t]) => [Number(l), t.shape] as const)
    );
    assert.equal(tf.memory().numTensors, before);
    for (const [l, s] of shapes) {
      assert.equal(s[3], net.outputChannels[l]);
      assert.equal(s[3], ep);
      assert.equal(s[1], Math.ceil(64 / 2 ** l));
    }
    net.dispose();
  }
});

Deno.test("plan follows SPEC §5: parents, levels, extra inputs, α, drop-connect", () => {
  const plan = planSpineNet({
    scaling: spineNetScaling("49"),
    dropConnect: 0.2,
  });
  assert.equal(plan.nodes.length, 15); // blocks 2..16; 0, 1 are the stem
  assert.deepEqual(
    plan.nodes.map((n) => n.parents.map((p) => p.source)),
    SPINENET_BLOCK_SPECS.map((s) => [...s.inputs]),
  );
  // Block 2 (L2 bottleneck) from the stem: 1×1 to α·64 = 32, no resampling.
  const b2 = plan.nodes[0];
  assert.deepEqual(
    b2.parents.map((
      p,
    ) => [p.inChannels, p.midChannels, p.outChannels, p.levelDelta]),
    [[256, 32, 256, 0], [256, 32, 256, 0]],
  );
  // Block 3 (L4 residual, 256 wide) downsamples L2 by two levels.
  assert.deepEqual(
    plan.nodes[1].parents.map((p) => [p.outChannels, p.levelDelta]),
    [[256, 2], [256, 2]],
  );
  // Block 15 (L7) reads block 5 (L4) and block 14 (L5): down 3 and down 2.
  assert.deepEqual(plan.nodes[13].parents.map((p) => p.levelDelta), [3, 2]);
  // Block 16 (L6) reads block 12 (L4 → down 2) and 14 (L5 → down 1).
  // Block 6 (L6 residual) is upsampled into block 8 (L5): delta -1.
  assert.deepEqual(plan.nodes[6].parents.map((p) => p.levelDelta), [-1, 1]);
  // Output blocks absorb unused same-level blocks: block 11 (L5
  // bottleneck) feeds no later block, so the L5 output block 14 sums it in.
  assert.deepEqual(
    plan.nodes.filter((n) => n.extraInputs.length).map((n) => [
      n.level,
      [...n.extraInputs],
    ]),
    [[5, [11]]],
  );
  assert.deepEqual(plan.endpoints.map((e) => [e.level, e.source]), [
    [3, 13],
    [4, 12],
    [5, 14],
    [6, 16],
    [7, 15],
  ]);
  // Drop-connect rises linearly to the configured rate at the last block.
  assert.ok(Math.abs(plan.nodes[14].group.dropRate - 0.2) < 1e-12);
  assert.ok(Math.abs(plan.nodes[0].group.dropRate - 0.2 / 15) < 1e-12);
  assert.equal(plan.stem[0].dropRate, 0);
});

Deno.test("49S plan: scaled widths truncate like the reference", () => {
  const plan = planSpineNet({
    scaling: spineNetScaling("49S"),
    dropConnect: 0,
  });
  assert.equal(plan.stem[0].filters, 41); // int(64 × 0.65)
  // L2 bottleneck out 164 → α·164/4 = 20.5 → 20.
  assert.equal(plan.nodes[0].parents[0].midChannels, 20);
  assert.equal(plan.nodes[1].group.filters, 166); // int(256 × 0.65)
  assert.deepEqual(plan.endpoints.map((e) => e.outChannels), [
    128,
    128,
    128,
    128,
    128,
  ]);
  const repeated = planSpineNet({
    scaling: spineNetScaling("143"),
    dropConnect: 0,
  });
  assert.ok(repeated.nodes.every((n) => n.group.repeats === 3));
  assert.equal(repeated.nodes[0].parents[0].midChannels, 64); // α = 1
});

Deno.test("BN: training uses batch statistics and updates moving stats; inference does not", () => {
  const net = build(tiny);
  const x = tf.randomNormal([2, 64, 64, 3], 0, 1, "float32", 3) as tf.Tensor4D;
  const movingMean = () =>
    net.namedBuffers().find(([n]) => n === "stem_conv.bn.moving_mean")![1]
      .dataSync().slice();
  const m0 = movingMean();
  const inf1 = tf.tidy(() => net.apply(x, { training: false })[3].dataSync());
  assert.deepEqual(movingMean(), m0, "inference leaves moving stats alone");
  const train = tf.tidy(() => net.apply(x, { training: true })[3].dataSync());
  const m1 = movingMean();
  assert.notDeepEqual(m1, m0, "training updates moving stats");
  const inf2 = tf.tidy(() => net.apply(x, { training: false })[3].dataSync());
  assert.notDeepEqual(train, inf1);
  assert.notDeepEqual(inf2, inf1, "inference follows the updated statistics");
  x.dispose();
  net.dispose();
});

Deno.test("drop-connect is seeded by ctx.rng in training and off at inference", () => {
  const net = build({ ...tiny, dropConnect: 0.5 });
  // Last-BN gammas start at 0 (each block starts as the identity), which
  // would hide drop-connect: make every residual branch non-zero.
  for (const [name, v] of net.namedParameters()) {
    if (name.endsWith("gamma")) v.assign(tf.onesLike(v));
  }
  const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 4) as tf.Tensor4D;
  const run = (training: boolean, seed: number) =>
    tf.tidy(() =>
      Array.from(net.apply(x, { training, rng: new Rng(seed) })[3].dataSync())
    );
  assert.deepEqual(run(true, 1), run(true, 1));
  assert.notDeepEqual(run(true, 1), run(true, 2));
  assert.deepEqual(run(false, 1), run(false, 2));
  x.dispose();
  net.dispose();
});

Deno.test("withInitSeed makes weights reproducible", () => {
  const a = build(tiny, 7);
  const b = build(tiny, 7);
  const c = build(tiny, 8);
  const va = a.namedParameters();
  const vb = new Map(b.namedParameters());
  const vc = new Map(c.namedParameters());
  let differs = false;
  for (const [name, v] of va) {
    assert.deepEqual(v.dataSync(), vb.get(name)!.dataSync(), name);
    if (name.endsWith("kernel")) {
      differs ||= v.dataSync().some((e, i) =>
        e !== vc.get(name)!.dataSync()[i]
      );
    }
  }
  assert.ok(differs, "another seed gives other weights");
  [a, b, c].forEach((m) => m.dispose());
});

Deno.test("plugin registers every variant; config is checked", () => {
  const reg = new Registry().use(spinenetPlugin);
  assert.deepEqual(reg.list("backbone"), [
    "spinenet-143",
    "spinenet-190",
    "spinenet-49",
    "spinenet-49s",
    "spinenet-49xs",
    "spinenet-96",
    "spinenet-tiny",
  ]);
  const shared = { bnMomentum: 0.9, bnEpsilon: 1e-4, activation: "swish" };
  const net = reg.create("backbone", "spinenet-tiny", { endpointFilters: 32 }, {
    shared: shared as SharedSettings,
  });
  assert.deepEqual(net.outputChannels, { 3: 32, 4: 32, 5: 32, 6: 32, 7: 32 });
  net.dispose();
  assert.throws(
    () =>
      reg.create("backbone", "spinenet-tiny", {}, {
        shared: { ...shared, activation: "sigmoid" } as SharedSettings,
      }),
    /plugins\/spinenet: activation must be relu or swish/,
  );
  assert.throws(
    () => reg.create("backbone", "spinenet-tiny", { activation: "swish" }),
    /unknown key "activation"; valid keys: variant, dropConnect, endpointFilters/,
  );
  assert.throws(
    () => new SpineNet({ ...tiny, variant: "50" }),
    /unknown variant "50"/,
  );
  const bad = build(tiny);
  assert.throws(
    () => bad.apply(tf.zeros([1, 8, 8, 1]) as tf.Tensor4D, { training: false }),
    /expected images \[N, H, W, 3\]/,
  );
  bad.dispose();
});
