/**
 * DeepLabv3+ head and segmentation backbones: output shapes and strides,
 * ASPP rates at output stride 16 and 8, the ignore label in the loss
 * (hand-computed), and one training step that changes the loss.
 */
import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { cpuBackend } from "../plugins/backends/cpu.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";
import {
  asppRates,
  type DeepLabV3PlusHead,
  segmentationCrossEntropy,
} from "../plugins/deeplab/mod.ts";
import type { Backbone } from "../core/contracts.ts";
import { withInitSeed } from "../core/nn/layers.ts";
import { TaskModel } from "../core/model.ts";
import { IGNORE_LABEL, type Sample } from "../core/types.ts";

await cpuBackend.activate();
const registry = createBuiltinRegistry();

function build(
  backbone: string,
  bcfg: Record<string, string | number>,
  hcfg: Record<string, string | number>,
  size: number,
  classes = 3,
) {
  return withInitSeed(1, () => {
    const b = registry.create("backbone", backbone, bcfg) as Backbone;
    const h = registry.create("head", "deeplabv3plus", hcfg, {
      channels: b.outputChannels,
      numClasses: classes,
      inputSize: [size, size],
    }) as DeepLabV3PlusHead;
    return { b, h };
  });
}

Deno.test("ASPP rates: 6/12/18 at output stride 16, doubled at 8; bad values fail", () => {
  assert.deepEqual(asppRates([6, 12, 18], 16), [6, 12, 18]);
  assert.deepEqual(asppRates([6, 12, 18], 8), [12, 24, 36]);
  assert.throws(
    () => asppRates([6, 12, 18], 32),
    /outputStride must be 16 or 8/,
  );
  assert.throws(() => asppRates([6, 1.5], 16), /positive integers/);
  assert.throws(() => asppRates([], 16), /positive integers/);
  const { h } = build("convnet-seg", { width: 4 }, { filters: 8 }, 64);
  assert.deepEqual(h.aspp.rates, [6, 12, 18]);
  assert.equal(h.highLevel, 4);
  const os8 = build("convnet-seg", { width: 4, outputStride: 8 }, {
    filters: 8,
    outputStride: 8,
  }, 64);
  assert.deepEqual(os8.h.aspp.rates, [12, 24, 36]);
  assert.equal(os8.h.highLevel, 3);
  const names = os8.h.namedParameters().map(([n]) => n);
  for (const r of [12, 24, 36]) {
    assert.ok(names.some((n) => n.startsWith(`aspp.atrous${r}.`)), `${r}`);
  }
});

for (
  const [backbone, bcfg, os] of [
    ["convnet-seg", { width: 4 }, 16],
    ["convnet-seg", { width: 4, outputStride: 8 }, 8],
    ["efficientnet-seg", { variant: "b0", outputStride: 16 }, 16],
    ["spinenet-seg", { variant: "tiny" }, 16],
  ] as const
) {
  Deno.test(`${backbone} OS ${os}: feature strides 4 and ${os}, logits at input size`, () => {
    const size = 64;
    const { b, h } = build(backbone, bcfg, {
      filters: 8,
      lowLevelFilters: 4,
      outputStride: os,
    }, size);
    const high = Math.log2(os);
    tf.tidy(() => {
      const x = tf.randomNormal([2, size, size, 3], 0, 1, "float32", 3);
      const f = b.apply(x as tf.Tensor4D, { training: false });
      assert.deepEqual(f[2].shape, [
        2,
        size / 4,
        size / 4,
        b.outputChannels[2],
      ]);
      assert.deepEqual(f[high].shape, [
        2,
        size / os,
        size / os,
        b.outputChannels[high],
      ]);
      const out = h.apply(f, { training: true });
      assert.deepEqual(out.logits.shape, [2, size, size, 3]);
    });
    b.dispose();
    h.dispose();
  });
}

Deno.test("efficientnet-seg dilates the stages past the output stride", () => {
  const b = registry.create("backbone", "efficientnet-seg", {
    outputStride: 16,
  }) as Backbone & {
    plan: { blocks: { stride: number; dilation?: number }[] };
  };
  const strides = b.plan.blocks.filter((x) => x.stride === 2).length;
  assert.equal(strides, 3); // stem is the fourth stride 2: 2 * 2^3 = 16
  assert.ok(b.plan.blocks.some((x) => x.dilation === 2));
  assert.deepEqual(Object.keys(b.outputChannels).map(Number), [1, 2, 3, 4]);
  b.dispose();
});

Deno.test("a backbone without level 2 fails with a message naming the levels", () => {
  const b = registry.create("backbone", "convnet-fpn") as Backbone;
  assert.throws(
    () =>
      registry.create("head", "deeplabv3plus", {}, {
        channels: b.outputChannels,
        numClasses: 3,
        inputSize: [64, 64],
      }),
    /lacks level 2 .*it has 3,4,5,6,7/,
  );
  b.dispose();
});

Deno.test("cross-entropy skips ignore-label pixels (hand-computed)", () => {
  // Two pixels of 2 classes: logits (0, 0) label 1 → ln 2;
  // logits (ln 3, 0) label 0 → ln(4/3); a third pixel labelled 255.
  const logits = tf.tensor4d([0, 0, Math.log(3), 0, 50, -50], [1, 1, 3, 2]);
  const labels = tf.tensor3d([1, 0, IGNORE_LABEL], [1, 1, 3], "int32");
  const ce = segmentationCrossEntropy(logits, labels);
  const want = (Math.log(2) + Math.log(4 / 3)) / 2;
  assert.ok(Math.abs(ce.dataSync()[0] - want) < 1e-6, `${ce.dataSync()[0]}`);
  const all = tf.tensor3d(
    [IGNORE_LABEL, IGNORE_LABEL, IGNORE_LABEL],
    [1, 1, 3],
    "int32",
  );
  assert.equal(segmentationCrossEntropy(logits, all).dataSync()[0], 0);
  tf.dispose([logits, labels, ce, all]);
});

Deno.test("a training step lowers the loss; postprocess maps to source pixels", async () => {
  const size = 32;
  const { b, h } = build(
    "convnet-seg",
    { width: 4 },
    {
      filters: 8,
      lowLevelFilters: 4,
    },
    size,
    2,
  );
  const model = new TaskModel(b, h, registry.create("loss", "seg-ce"));
  const mask = new Uint8Array(size * size);
  for (let i = 0; i < mask.length; i++) mask[i] = (i % size) < 16 ? 0 : 1;
  mask[0] = IGNORE_LABEL;
  const image = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    image.fill((i % size) < 16 ? 20 : 230, 3 * i, 3 * i + 3);
  }
  const sample: Sample = {
    id: 7,
    image: { data: image, width: size, height: size, channels: 3 },
    mask,
    meta: { sourceWidth: 64, sourceHeight: 48, scale: 0.5 },
  };
  const images = tf.tensor4d(Float32Array.from(image, (v) => v / 128 - 1), [
    1,
    size,
    size,
    3,
  ]);
  const opt = tf.train.sgd(0.1);
  const losses: number[] = [];
  for (let step = 0; step < 5; step++) {
    const v = opt.minimize(
      () => model.loss({ images, samples: [sample] }, { training: true }).total,
      true,
    )!;
    losses.push(v.dataSync()[0]);
    v.dispose();
  }
  assert.ok(losses[4] < losses[0], `${losses}`);
  const [p] = await model.predict(images, [sample]);
  assert.equal(p.width, 64);
  assert.equal(p.height, 48);
  assert.equal(p.mask!.length, 64 * 48);
  assert.equal(p.probs!.length, 64 * 48 * 2);
  images.dispose();
  opt.dispose();
  model.dispose();
});
