// RetinaNet head: registration, shapes, init, parameter count, targets,
// leaks, and a tiny overfit run through TaskModel.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "../core/gradients.ts";
import { wasmBackend } from "../plugins/backends/wasm.ts";
import {
  type Backbone,
  DEFAULT_SHARED,
  type FeaturePyramid,
  type HeadInputs,
  type SharedSettings,
} from "../core/contracts.ts";
import { TaskModel } from "../core/model.ts";
import { Conv2d, withInitSeed } from "../core/nn/layers.ts";
import { type ForwardContext, Module } from "../core/nn/module.ts";
import { Registry } from "../core/registry.ts";
import type { Sample } from "../core/types.ts";
import retinanet, {
  RETINANET_DEFAULTS,
  type RetinaNetHead,
  type RetinaOutputs,
  type RetinaTargets,
} from "../plugins/retinanet/mod.ts";

await wasmBackend.activate();

const LEVELS = [3, 4, 5, 6, 7];
const SIZE = 64;

function deps(
  ch: number,
  numClasses: number,
  size = SIZE,
  shared: Partial<SharedSettings> = {},
): HeadInputs {
  return {
    channels: Object.fromEntries(LEVELS.map((l) => [l, ch])),
    numClasses,
    inputSize: [size, size],
    shared: { ...DEFAULT_SHARED, ...shared },
  };
}

function createHead(overrides: object, d: HeadInputs): RetinaNetHead {
  const reg = new Registry().use(retinanet);
  return reg.create("head", "retinanet", overrides, d) as RetinaNetHead;
}

/** A trivial backbone: a 3×3 conv, then 2×2 average pools down the levels. */
class PoolBackbone extends Module implements Backbone {
  readonly outputChannels: Readonly<Record<number, number>>;
  readonly #conv: Conv2d;
  constructor(ch: number) {
    super();
    this.#conv = this.child(
      "stem",
      new Conv2d(3, ch, { kernel: 3, bias: true }),
    );
    this.outputChannels = Object.fromEntries(LEVELS.map((l) => [l, ch]));
  }
  apply(images: tf.Tensor4D, _ctx: ForwardContext): FeaturePyramid {
    let x: tf.Tensor4D = tf.relu(this.#conv.apply(images));
    const out: FeaturePyramid = {};
    for (let l = 1; l <= LEVELS[LEVELS.length - 1]; l++) {
      x = tf.avgPool(x, 2, 2, "same");
      if (LEVELS.includes(l)) out[l] = x;
    }
    return out;
  }
}

/** A 64×64 image with one filled box of a class colour. */
function boxSample(
  id: number,
  box: [number, number, number, number],
  label: number,
): Sample {
  const data = new Uint8Array(SIZE * SIZE * 3).fill(20);
  const colour = label === 0 ? [230, 40, 40] : [40, 40, 230];
  for (let y = box[1]; y < box[3]; y++) {
    for (let x = box[0]; x < box[2]; x++) data.set(colour, (y * SIZE + x) * 3);
  }
  return {
    id,
    image: { data, width: SIZE, height: SIZE, channels: 3 },
    boxes: new Float32Array(box),
    labels: new Int32Array([label]),
    meta: { sourceWidth: SIZE * 2, sourceHeight: SIZE * 2, scale: 0.5 },
  };
}

function toImages(samples: Sample[]): tf.Tensor4D {
  return tf.tidy(() =>
    tf.div(
      tf.tensor4d(
        Float32Array.from(samples.flatMap((s) => [...s.image.data])),
        [samples.length, SIZE, SIZE, 3],
      ),
      255,
    )
  );
}

Deno.test("head: parameter count of the 4×256 reference head, 80 classes", () => {
  const head = withInitSeed(1, () => createHead({}, deps(256, 80, 128)));
  // Per subnet: 4 convs (3·3·256·256 + 256) + 5 levels × 4 BN × (γ, β) × 256;
  // predictions 3·3·256·(9·80) + 720 and 3·3·256·36 + 36.
  const hidden = 4 * (9 * 256 * 256 + 256) + 5 * 4 * 2 * 256;
  assert.equal(
    head.countParameters(),
    2 * hidden + (9 * 256 * 720 + 720) + (9 * 256 * 36 + 36),
  );
  assert.equal(head.countParameters(), 6483700);
  head.dispose();
});

Deno.test("head: output layout, prior-probability init, config errors", () => {
  const head = withInitSeed(
    2,
    () => createHead({ convs: 2, filters: 8 }, deps(8, 3)),
  );
  const before = tf.memory().numTensors;
  const out = tf.tidy(() => {
    const feats: FeaturePyramid = {};
    for (const l of LEVELS) {
      const s = Math.ceil(SIZE / 2 ** l);
      feats[l] = tf.randomNormal([2, s, s, 8], 0, 1, "float32", l);
    }
    return head.apply(feats, { training: false });
  });
  // 64 px: 8² + 4² + 2² + 1 + 1 locations × 9 anchors.
  assert.equal(head.anchors().count, 86 * 9);
  assert.deepEqual(out.cls.shape, [2, 774, 3]);
  assert.deepEqual(out.box.shape, [2, 774, 4]);
  // Prediction kernels are N(0, 1e-5²): logits ≈ -log(0.99 / 0.01).
  const cls = out.cls.dataSync();
  assert.ok(cls.every((v) => Math.abs(v + Math.log(99)) < 0.01));
  assert.ok(out.box.dataSync().every((v) => Math.abs(v) < 0.01));
  tf.dispose([out.cls, out.box]);
  assert.equal(tf.memory().numTensors, before);
  assert.throws(
    () =>
      head.apply({ 3: tf.zeros([1, 7, 7, 8]) as tf.Tensor4D }, {
        training: false,
      }),
    /level 3 is 7x7/,
  );
  head.dispose();
  assert.throws(
    () => createHead({}, { ...deps(8, 3), channels: { 3: 8 } }),
    /lacks levels/,
  );
  assert.throws(
    () =>
      createHead({}, {
        ...deps(8, 3),
        channels: { ...deps(8, 3).channels, 5: 4 },
      }),
    /equal channels/,
  );
  assert.throws(
    () => createHead({}, deps(8, 3, SIZE, { activation: "sigmoid" })),
    /retinanet: activation must be one of relu, swish, relu6, got "sigmoid"/,
  );
  assert.throws(
    () => createHead({ activation: "relu" }, deps(8, 3)),
    /unknown key "activation"/,
  );
  assert.throws(
    () => createHead({ aspectRatios: "1,,x" }, deps(8, 3)),
    /--aspectRatios expects a number, got ""/,
  );
  assert.throws(
    () => createHead({ aspectRatios: [] }, deps(8, 3)),
    /aspectRatios must be positive numbers/,
  );
  assert.throws(
    () => createHead({ aspectRatios: ["1"] }, deps(8, 3)),
    /--aspectRatios expects a list of numbers, got \["1"\]/,
  );
  // A list from the command line: three ratios → 2 scales × 3 = 6 anchors.
  const two = createHead(
    { numScales: 2, aspectRatios: "1,2,0.5", convs: 0, filters: 8 },
    deps(8, 3),
  );
  assert.equal(two.anchors().perLocation, 6);
  two.dispose();
  assert.throws(
    () => createHead({ matchNegative: 0.7 }, deps(8, 3)),
    /negative/,
  );
  assert.deepEqual(RETINANET_DEFAULTS.aspectRatios, [1, 2, 0.5]);
});

Deno.test("head: encodeTargets matches, encodes and rejects bad samples", () => {
  const head = withInitSeed(
    3,
    () => createHead({ convs: 0, filters: 8 }, deps(8, 2)),
  );
  const before = tf.memory().numTensors;
  const s = boxSample(1, [4, 4, 36, 36], 1);
  const t = head.encodeTargets([s, {
    ...s,
    boxes: new Float32Array(0),
    labels: new Int32Array(0),
  }]);
  assert.deepEqual(t.labels.shape, [2, 774]);
  const labels = t.labels.dataSync();
  const npos = t.numPositives.dataSync();
  assert.ok(npos[0] >= 1 && npos[1] === 0);
  assert.equal(labels.slice(0, 774).filter((v) => v === 1).length, npos[0]);
  assert.ok(labels.slice(774).every((v) => v === -1));
  // The 32 px box is exactly level-3 anchor (row 2, col 2): centre 20, side 32.
  const k = (2 * 8 + 2) * 9;
  assert.equal(labels[k], 1);
  assert.deepEqual(
    [...t.boxes.dataSync().slice(k * 4, k * 4 + 4)].map((v) =>
      Math.round(v * 1e5)
    ),
    [0, 0, 0, 0],
  );
  tf.dispose([t.labels, t.boxes, t.numPositives]);
  assert.equal(tf.memory().numTensors, before);
  assert.throws(
    () => head.encodeTargets([{ ...s, labels: new Int32Array([5]) }]),
    /label 5/,
  );
  assert.throws(
    () => head.encodeTargets([{ ...s, labels: new Int32Array(0) }]),
    /1 boxes but 0 labels/,
  );
  assert.throws(
    () => head.encodeTargets([{ ...s, image: { ...s.image, width: 32 } }]),
    /head expects 64x64/,
  );
  head.dispose();
});

Deno.test("head: tiny model overfits two images in 30 steps without leaking", async () => {
  const samples = [
    boxSample(1, [8, 8, 40, 40], 0),
    boxSample(2, [30, 20, 62, 36], 1),
  ];
  const model = withInitSeed(4, () => {
    const backbone = new PoolBackbone(16);
    // Fast BN averages so inference-mode statistics settle within 30 steps.
    const head = createHead(
      { convs: 1, filters: 16 },
      deps(16, 2, SIZE, { bnMomentum: 0.5 }),
    );
    const reg = new Registry().use(retinanet);
    const loss = reg.create("loss", "retinanet-loss", {});
    return new TaskModel<RetinaOutputs, RetinaTargets>(
      backbone,
      head,
      loss as TaskModel<RetinaOutputs, RetinaTargets>["lossFn"],
    );
  });
  const images = toImages(samples);
  const opt = tf.train.adam(0.01);
  let afterFirst = 0;
  const losses: number[] = [];
  for (let step = 0; step < 30; step++) {
    const { value, grads } = tf.variableGrads(() =>
      model.loss({ images, samples }, { training: true }).total
    );
    losses.push(value.dataSync()[0]);
    opt.applyGradients(grads as unknown as Record<string, tf.Variable>);
    tf.dispose([value, ...Object.values(grads)]);
    // Adam allocates its slots on the first step; after that, nothing grows.
    if (step === 0) afterFirst = tf.memory().numTensors;
  }
  assert.equal(tf.memory().numTensors, afterFirst);
  assert.ok(
    losses[29] < 0.25 * losses[0],
    `loss ${losses[0].toFixed(3)} → ${losses[29].toFixed(3)}`,
  );
  const preds = await model.predict(images, samples);
  assert.equal(preds.length, 2);
  // Best detection: right class, confident, IoU > 0.5 with the truth in source pixels (×2).
  for (const [i, p] of preds.entries()) {
    const d = p.detections![0];
    assert.equal(d.label, samples[i].labels![0]);
    const gt = [...samples[i].boxes!].map((v) => v * 2);
    const iw = Math.min(d.box[2], gt[2]) - Math.max(d.box[0], gt[0]);
    const ih = Math.min(d.box[3], gt[3]) - Math.max(d.box[1], gt[1]);
    const inter = Math.max(iw, 0) * Math.max(ih, 0);
    const union = (d.box[2] - d.box[0]) * (d.box[3] - d.box[1]) +
      (gt[2] - gt[0]) * (gt[3] - gt[1]) - inter;
    assert.ok(
      inter / union > 0.5 && d.score > 0.5,
      `detection ${d.box} (${d.score}) vs ${gt}`,
    );
  }
  tf.dispose(images);
  opt.dispose();
  model.dispose();
});
