import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { withInitSeed } from "../core/nn/layers.ts";
import type { Module } from "../core/nn/module.ts";
import { TinyConvNet } from "../plugins/classifier/convnet.ts";
import {
  CONVNET_FPN_DEFAULTS,
  ConvNetFpn,
} from "../plugins/convnet_fpn/mod.ts";
import {
  EfficientNet,
  EFFICIENTNET_DEFAULTS,
  EFFICIENTNET_FPN_DEFAULTS,
} from "../plugins/efficientnet/mod.ts";
import { SpineNet, SPINENET_DEFAULTS } from "../plugins/spinenet/mod.ts";
import {
  type BackboneCheckpoint,
  backboneStages,
  freezeStages,
  initBackbone,
  initOverrides,
  productPreprocessing,
} from "../plugins/pretrain/mod.ts";
import { snapshot, tinyModel, trainTiny } from "./foundation_helpers.ts";

function tinyNet(seed: number, width = 4, stages = 2): TinyConvNet {
  return withInitSeed(
    seed,
    () =>
      new TinyConvNet({ width, stages, activation: "relu", bnMomentum: 0.9 }),
  );
}

function checkpointOf(
  net: Module,
  architecture = "tiny-convnet",
  config: Record<string, unknown> = {},
): BackboneCheckpoint {
  return {
    manifest: {
      format: "selftrain-backbone/1",
      architecture,
      config,
      preprocessing: productPreprocessing(16),
      provenance: { source: "test", created: "now" },
    },
    tensors: new Map(net.namedVariables().map(([n, v]) => [n, v.clone()])),
  };
}

function values(m: Module): Map<string, Float32Array> {
  return new Map(
    m.namedVariables().map(([n, v]) => [n, v.dataSync() as Float32Array]),
  );
}

Deno.test("initBackbone copies every variable by name, bit for bit", () => {
  const src = tinyNet(1), dst = tinyNet(2);
  // Non-default moving statistics prove buffers travel too.
  src.namedBuffers()[0][1].assign(tf.fill(src.namedBuffers()[0][1].shape, 3));
  const ck = checkpointOf(src);
  assert.notDeepEqual(values(dst), values(src));
  const n = initBackbone(dst, ck, { dir: "ck", architecture: "tiny-convnet" });
  assert.equal(n, src.namedVariables().length);
  assert.deepEqual(values(dst), values(src));
  tf.dispose([...ck.tensors.values()]);
  src.dispose();
  dst.dispose();
});

Deno.test("a checkpoint that does not fit fails with one line: missing, unexpected, shape mismatches", () => {
  const ck = checkpointOf(tinyNet(1, 4, 3));
  const narrow = tinyNet(2, 8, 2);
  const err = (() => {
    try {
      initBackbone(narrow, ck, { dir: "/x/ck", architecture: "tiny-convnet" });
    } catch (e) {
      return (e as Error).message;
    }
    return "";
  })();
  assert.ok(!err.includes("\n"), err);
  assert.match(
    err,
    /^\/x\/ck: tiny-convnet checkpoint does not fit backbone "tiny-convnet": /,
  );
  // stage3 is in the checkpoint only (8 variables: 2 layers x (kernel, gamma, beta, mean, var) less...)
  assert.match(
    err,
    /10 unexpected \[stage3_down\.conv\.kernel, .*… \+6 more\]/,
  );
  assert.match(
    err,
    /shape mismatches \[stage1_down\.conv\.kernel \[3,3,3,4\] vs model \[3,3,3,8\]/,
  );
  assert.doesNotMatch(err, /missing/);
  // The model is untouched by a failed init.
  const before = values(narrow);
  assert.throws(() =>
    initBackbone(narrow, ck, { dir: "ck", architecture: "tiny-convnet" })
  );
  assert.deepEqual(values(narrow), before);
  // Missing names.
  const small = checkpointOf(tinyNet(1, 8, 1));
  assert.throws(
    () =>
      initBackbone(narrow, small, { dir: "ck", architecture: "tiny-convnet" }),
    /^Error: ck: .*: 10 missing \[stage2_down\.conv\.kernel, /,
  );
  tf.dispose([...ck.tensors.values(), ...small.tensors.values()]);
  narrow.dispose();
});

Deno.test("architecture and preprocessing mismatches are errors naming the checkpoint", () => {
  const net = tinyNet(1);
  const ck = checkpointOf(net, "efficientnet-b0");
  assert.throws(
    () => initBackbone(net, ck, { dir: "ck", architecture: "tiny-convnet" }),
    /^Error: ck: checkpoint is a "efficientnet-b0" backbone; model\.backbone "tiny-convnet" takes tiny-convnet$/,
  );
  const other = checkpointOf(net);
  other.manifest.preprocessing = {
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
    inputSize: 32,
    range: 1,
  };
  assert.throws(
    () => initBackbone(net, other, { dir: "ck", architecture: "tiny-convnet" }),
    /ck: backbone expects inputs normalised with mean \[127\.500/,
  );
  tf.dispose([...ck.tensors.values(), ...other.tensors.values()]);
  net.dispose();
});

Deno.test("a tiny-convnet checkpoint initialises the body of convnet-fpn; the FPN keeps its init", () => {
  const body = tinyNet(5, 4, 5);
  const ck = checkpointOf(body, "tiny-convnet", { width: 4, stages: 5 });
  const overrides = initOverrides(
    "convnet-fpn",
    CONVNET_FPN_DEFAULTS,
    ck.manifest,
    "ck",
  );
  assert.deepEqual(overrides, { width: 4 });
  const det = withInitSeed(
    9,
    () => new ConvNetFpn({ ...CONVNET_FPN_DEFAULTS, ...overrides }),
  );
  const fpnBefore = [...values(det)].filter(([n]) => n.startsWith("fpn."));
  initBackbone(det, ck, { dir: "ck", architecture: "convnet-fpn" });
  const after = values(det);
  for (const [n, v] of values(body)) {
    assert.deepEqual(after.get(`body.${n}`), v, n);
  }
  for (const [n, v] of fpnBefore) assert.deepEqual(after.get(n), v, n);
  tf.dispose([...ck.tensors.values()]);
  body.dispose();
  det.dispose();
});

Deno.test("initOverrides takes the checkpoint's architecture keys, not its training settings", () => {
  const manifest = {
    format: "selftrain-backbone/1" as const,
    architecture: "efficientnet-b1",
    config: {
      ...EFFICIENTNET_DEFAULTS,
      variant: "b1",
      // Shared settings ride along in a manifest's config.
      activation: "swish",
      bnEpsilon: 1e-5,
      padding: "symmetric",
      bnMomentum: 0.5,
      dropConnect: 0.3,
      unknownKey: 1,
    },
    preprocessing: productPreprocessing(240),
    provenance: { source: "torchvision", created: "now" },
  };
  assert.deepEqual(
    initOverrides(
      "efficientnet-fpn",
      EFFICIENTNET_FPN_DEFAULTS,
      manifest,
      "ck",
    ),
    {
      variant: "b1",
      activation: "swish",
      seRatio: 0.25,
      bnEpsilon: 1e-5,
      padding: "symmetric",
      widthScale: 0,
      depthScale: 0,
    },
  );
  assert.throws(
    () =>
      initOverrides("efficientnet-b0", EFFICIENTNET_DEFAULTS, manifest, "ck"),
    /^Error: ck: checkpoint is a "efficientnet-b1" backbone; model\.backbone "efficientnet-b0" takes efficientnet-b0$/,
  );
});

Deno.test("stages: EfficientNet's seven MBConv groups scale with depth; SpineNet's stem and blocks", () => {
  const counts = (variant: string) => {
    const net = withInitSeed(
      0,
      () => new EfficientNet({ ...EFFICIENTNET_DEFAULTS, variant }),
    );
    const s = backboneStages(net)!;
    net.dispose();
    assert.deepEqual(s.stem, ["stem"]);
    return s.stages.map((g) => g.length);
  };
  // B0's table (1, 2, 2, 3, 3, 4, 1) and B1 = ceil(1.1 x repeats).
  assert.deepEqual(counts("b0"), [1, 2, 2, 3, 3, 4, 1]);
  assert.deepEqual(counts("b1"), [2, 3, 3, 4, 4, 5, 2]);
  const spine = withInitSeed(
    0,
    () => new SpineNet({ ...SPINENET_DEFAULTS, variant: "tiny" }),
  );
  const s = backboneStages(spine)!;
  assert.deepEqual(s.stem, ["stem_conv", "stem_block0", "stem_block1"]);
  assert.equal(s.stages.length, spine.plan.nodes.length);
  assert.deepEqual(s.stages[0].at(-1), "block2");
  assert.ok(
    s.stages[0].slice(0, -1).every((n) => n.startsWith("block2_resample")),
  );
  spine.dispose();
  const fpn = new ConvNetFpn(CONVNET_FPN_DEFAULTS);
  const f = backboneStages(fpn)!;
  assert.equal(f.body, "body");
  assert.deepEqual(f.stem, ["body.stage1_down", "body.stage1_conv"]);
  assert.equal(f.stages.length, 4);
  fpn.dispose();
});

Deno.test("freezeAt: frozen weights and BN statistics are bit-identical after training, the rest change", async () => {
  // Trains a fresh tiny model; with EMA the model ends with the averaged
  // weights (the EMA hook swaps them in), without it with the raw ones.
  const trained = async (freezeAt: number, emaDecay: number) => {
    const model = tinyModel(4);
    const frozen = freezeStages(model.backbone, freezeAt, "tiny-convnet");
    const before = snapshot(model);
    await trainTiny(model, 4, 0, { phase: "t", config: { emaDecay } });
    const after = snapshot(model);
    model.dispose();
    return { frozen, before, after };
  };
  const run = async (freezeAt: number) => {
    const raw = await trained(freezeAt, 0);
    const ema = (await trained(freezeAt, 0.9)).after;
    return { ...raw, ema };
  };
  const f = await run(0);
  assert.deepEqual(f.frozen, ["stage1_down", "stage1_conv"]);
  const isFrozen = (n: string) => n.startsWith("backbone.stage1_");
  let frozenSeen = 0, changed = 0;
  for (const [n, v] of f.before) {
    if (isFrozen(n)) {
      frozenSeen++;
      assert.deepEqual(f.after.get(n), v, `${n} moved`);
      assert.deepEqual(f.ema.get(n), v, `EMA of ${n} moved`);
    } else if (
      f.after.get(n)!.some((x, i) => x !== v[i])
    ) changed++;
  }
  assert.equal(frozenSeen, 10);
  // Every other variable trains (stage2's moving statistics included).
  assert.equal(changed, f.before.size - frozenSeen);
  // Without freezing, the same variables do change: the check can fail.
  const g = await run(-1);
  assert.ok(
    [...g.before].some(([n, v]) =>
      isFrozen(n) && g.after.get(n)!.some((x, i) => x !== v[i])
    ),
  );
});

Deno.test("a frozen backbone runs in inference mode while training: BN on moving statistics, no drop-connect", () => {
  const net = withInitSeed(
    3,
    () => new EfficientNet({ ...EFFICIENTNET_DEFAULTS, dropConnect: 0.5 }),
  );
  // Non-trivial moving statistics.
  for (const [n, v] of net.namedBuffers()) {
    if (n.endsWith("moving_mean")) {
      v.assign(tf.randomNormal(v.shape, 0, 0.1, "float32", 1));
    }
  }
  const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
  const rng = (s: number) => ({ nextUint32: () => s++ });
  const top = (training: boolean, seed: number) =>
    tf.tidy(() =>
      net.apply(x, { training, rng: rng(seed) })[5].dataSync() as Float32Array
    );
  const moving = values(net);
  assert.notDeepEqual(top(true, 1), top(false, 1));
  // (restore the statistics the unfrozen training pass updated)
  for (const [n, v] of net.namedVariables()) {
    v.assign(tf.tensor(moving.get(n)!, v.shape));
  }
  freezeStages(net, backboneStages(net)!.stages.length, "efficientnet-b0");
  assert.equal(net.namedTrainableParameters().length, 0);
  const a = top(true, 1), b = top(true, 99), ref = top(false, 1);
  assert.deepEqual(a, b);
  const maxDiff = a.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[i])), 0);
  assert.ok(
    maxDiff < 1e-4,
    `training-mode output of a frozen net differs by ${maxDiff}`,
  );
  assert.deepEqual(values(net), moving);
  x.dispose();
  net.dispose();
});

Deno.test("freezeAt errors are one line", () => {
  const net = tinyNet(0);
  assert.throws(
    () => freezeStages(net, 2, "tiny-convnet"),
    /^Error: model\.freezeAt=2: backbone "tiny-convnet" has 1 stages after its stem$/,
  );
  assert.throws(() => freezeStages(net, -2, "x"), /model\.freezeAt must be -1/);
  net.dispose();
});
