/**
 * The benchmark ResNet-18 is built from the product's modules: torchvision's
 * published parameter count (11,689,512 at 1000 classes), its layer layout,
 * and a training step and an inference pass through the product's trainer
 * pieces without leaking tensors.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "../core/gradients.ts";
import { wasmBackend } from "../plugins/backends/wasm.ts";
import { Module } from "../core/nn/module.ts";
import { sgdTrainer } from "../bench/models/bench_model.ts";
import { createResNet18, ResNet18 } from "../bench/models/resnet18.ts";

await wasmBackend.activate();

Deno.test("ResNet-18: torchvision's parameter count and layout, from core/nn modules", () => {
  const net = new ResNet18(1000);
  assert.ok(net instanceof Module);
  assert.equal(net.countParameters(), 11_689_512);
  const names = net.namedParameters().map(([n]) => n);
  // 20 convs (17 3×3/7×7 + 3 projections), each with its batch norm, + fc.
  assert.equal(names.filter((n) => n.endsWith("conv.kernel")).length, 20);
  assert.equal(names.filter((n) => n.endsWith("bn.gamma")).length, 20);
  assert.deepEqual(names.slice(-2), ["fc.kernel", "fc.bias"]);
  assert.equal(
    names.filter((n) => n.includes("downsample")).length,
    3 * 3,
    "projection shortcuts in stages 2-4 only",
  );
  net.dispose();
});

Deno.test("ResNet-18: training steps and inference through the product's optimizer, no leaks", async () => {
  const model = createResNet18({ classes: 10, seed: 3 });
  assert.equal(model.params, 11_181_642); // the 1000-class fc swapped for 10
  const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const labels = tf.oneHot(tf.tensor1d([1, 7], "int32"), 10);
  const trainer = sgdTrainer(model, x, labels);
  // The first step makes the momentum slots; after it nothing is kept.
  assert.ok(Number.isFinite(await trainer.step()));
  const before = tf.memory().numTensors;
  assert.ok(Number.isFinite(await trainer.step()));
  const logits = tf.tidy(() => model.forward(x, false));
  assert.deepEqual(logits.shape, [2, 10]);
  logits.dispose();
  // Inference keeps each conv's folded batch norm (freed with the model).
  const folded = tf.memory().numTensors - before;
  assert.equal(folded, 2 * 20, "one folded kernel and bias per conv");
  trainer.dispose();
  model.dispose();
  tf.dispose([x, labels]);
});

Deno.test("ResNet-18: the same seed draws the same weights", () => {
  const [a, b, c] = [3, 3, 4].map((seed) =>
    createResNet18({ classes: 10, seed })
  );
  const first = (m: typeof a) => m.variables[0].dataSync();
  assert.deepEqual(first(a), first(b));
  assert.notDeepEqual(first(a), first(c));
  for (const m of [a, b, c]) m.dispose();
});
