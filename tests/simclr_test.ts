/**
 * SimCLR pieces: NT-Xent against hand-computed values and PyTorch (loss and
 * gradient, several temperatures), the hue and blur ops against
 * torchvision, the view augmenter, the projection head and the two-view
 * batch plan.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "../core/gradients.ts";
import { shuffledPlan } from "../core/data/loader.ts";
import { withInitSeed } from "../core/nn/layers.ts";
import { Rng } from "../core/rng.ts";
import type { RawImage } from "../core/types.ts";
import { adjustHue, gaussianBlur } from "../plugins/augment/filters.ts";
import { ShapeDataset } from "../plugins/classifier/shapes.ts";
import {
  blurKernelSize,
  colorJitter,
  ntXentAccuracy,
  ntXentLoss,
  positiveIndices,
  ProjectionHead,
  SimClrView,
  simclrViewDefaults,
  twoViewPlan,
} from "../plugins/simclr/mod.ts";

await tf.setBackend("cpu");

interface Reference {
  ntxent: {
    rows: number;
    dim: number;
    tau: number;
    z: number[];
    loss: number;
    grad: number[];
  }[];
  image: { height: number; width: number; data: number[] };
  hue: { shift: number; data: number[] }[];
  blur: { size: number; sigma: number; data: number[] }[];
}

const REF: Reference = JSON.parse(
  await Deno.readTextFile(
    new URL("./fixtures/simclr_reference.json", import.meta.url),
  ),
);

function ntXent(rows: number[][], tau: number): number {
  const z = tf.tensor2d(rows);
  const loss = ntXentLoss(z, tau);
  const v = loss.dataSync()[0];
  tf.dispose([z, loss]);
  return v;
}

Deno.test("NT-Xent: hand-computed values for two orthogonal pairs, temperature included", () => {
  // Views agree exactly and the two images are orthogonal: for every anchor
  // the positive has cosine 1 and both negatives cosine 0, so
  // loss = -log(e^(1/τ) / (e^(1/τ) + 2)) = log(1 + 2 e^(-1/τ)).
  const z = [[1, 0], [0, 1], [1, 0], [0, 1]];
  assert.ok(Math.abs(ntXent(z, 0.5) - Math.log(1 + 2 * Math.exp(-2))) < 1e-6);
  assert.ok(Math.abs(ntXent(z, 0.5) - 0.2395448) < 1e-6);
  assert.ok(Math.abs(ntXent(z, 1) - 0.5514447) < 1e-6);
  // Cosine similarity: scaling a row changes nothing.
  assert.ok(
    Math.abs(ntXent([[3, 0], [0, 0.5], [1, 0], [0, 7]], 0.5) - 0.2395448) <
      1e-6,
  );
  // Swapped partners: each anchor's positive is orthogonal and one negative
  // is identical: loss = -log(1 / (1 + e^(1/τ) + 1)) = log(2 + e^(1/τ)).
  const swapped = [[1, 0], [0, 1], [0, 1], [1, 0]];
  assert.ok(
    Math.abs(ntXent(swapped, 0.5) - Math.log(2 + Math.exp(2))) < 1e-5,
  );
  // Pair accuracy: every nearest neighbour is the partner, then none is.
  const acc = (rows: number[][]) => {
    const t = tf.tensor2d(rows), a = ntXentAccuracy(t);
    const v = a.dataSync()[0];
    tf.dispose([t, a]);
    return v;
  };
  assert.equal(acc(z), 1);
  assert.equal(acc(swapped), 0);
  // Row 1 is nearer row 2 than its partner (row 3); the others are right.
  assert.equal(acc([[1, 0], [0, 1], [1, 0.1], [-1, 0]]), 0.75);
});

Deno.test("NT-Xent: loss and gradient match PyTorch (autograd) for 2, 3 and 4 pairs at τ 0.1, 0.5, 1", () => {
  assert.equal(REF.ntxent.length, 9);
  for (const c of REF.ntxent) {
    const z = tf.tensor2d(c.z, [c.rows, c.dim]);
    const { value, grads } = tf.valueAndGrads((x: tf.Tensor) =>
      ntXentLoss(x as tf.Tensor2D, c.tau)
    )([z]);
    const loss = value.dataSync()[0];
    const grad = grads[0].dataSync();
    const tol = 1e-5 * Math.max(1, Math.abs(c.loss));
    assert.ok(
      Math.abs(loss - c.loss) < tol,
      `rows ${c.rows} τ ${c.tau}: ${loss} vs ${c.loss}`,
    );
    const scale = Math.max(...c.grad.map(Math.abs));
    c.grad.forEach((g, i) =>
      assert.ok(
        Math.abs(grad[i] - g) < 1e-4 * Math.max(1, scale),
        `rows ${c.rows} τ ${c.tau} grad[${i}]: ${grad[i]} vs ${g}`,
      )
    );
    tf.dispose([z, value, ...grads]);
  }
});

Deno.test("NT-Xent: rejects odd batches and a non-positive temperature; pairs i and i + N", () => {
  assert.deepEqual([...positiveIndices(6)], [3, 4, 5, 0, 1, 2]);
  const z = tf.zeros([3, 2]) as tf.Tensor2D;
  assert.throws(() => ntXentLoss(z, 0.5), /even number/);
  const z4 = tf.ones([4, 2]) as tf.Tensor2D;
  assert.throws(() => ntXentLoss(z4, 0), /temperature/);
  tf.dispose([z, z4]);
});

function refImage(): RawImage {
  const { width, height, data } = REF.image;
  return { data: Uint8Array.from(data), width, height, channels: 3 };
}

function assertClose(got: Uint8Array, want: number[], what: string): void {
  assert.equal(got.length, want.length);
  let worst = 0;
  want.forEach((v, i) => worst = Math.max(worst, Math.abs(got[i] - v)));
  // torchvision works in float32, we in float64: at most one level apart.
  assert.ok(worst <= 1, `${what}: differs by up to ${worst}`);
}

Deno.test("hue rotation matches torchvision adjust_hue", () => {
  for (const h of REF.hue) {
    assertClose(adjustHue(refImage(), h.shift).data, h.data, `hue ${h.shift}`);
  }
  // A pure red pixel turned by a third of a turn becomes pure green.
  const red: RawImage = {
    data: Uint8Array.from([255, 0, 0]),
    width: 1,
    height: 1,
    channels: 3,
  };
  assert.deepEqual([...adjustHue(red, 1 / 3).data], [0, 255, 0]);
});

Deno.test("Gaussian blur matches torchvision gaussian_blur (reflect padding)", () => {
  for (const b of REF.blur) {
    assertClose(
      gaussianBlur(refImage(), b.size, b.sigma).data,
      b.data,
      `blur ${b.size} σ ${b.sigma}`,
    );
  }
  assert.throws(() => gaussianBlur(refImage(), 4, 1), /odd/);
  assert.equal(blurKernelSize(224), 23);
  assert.equal(blurKernelSize(64), 7);
  assert.equal(blurKernelSize(16), 3);
});

Deno.test("colour jitter of strength 0 leaves the image unchanged", () => {
  const img = refImage();
  assert.deepEqual(colorJitter(img, 0, new Rng(3)).data, img.data);
  assert.notDeepEqual(colorJitter(img, 1, new Rng(3)).data, img.data);
});

Deno.test("SimCLR view: deterministic per seed, output size, two seeds give two views", () => {
  const sample = { id: 0, image: refImage(), label: 2 };
  const view = new SimClrView(simclrViewDefaults(5));
  const a = view.apply(sample, new Rng(11)),
    b = view.apply(sample, new Rng(11));
  assert.deepEqual(a.image.data, b.image.data);
  assert.equal(a.image.width, 5);
  assert.equal(a.image.height, 5);
  assert.equal(a.label, 2);
  const c = view.apply(sample, new Rng(12));
  assert.notDeepEqual(a.image.data, c.image.data);
  // No distortion and whole-area crops: on a square image every crop is the
  // whole image (any other aspect does not fit), so a view is the image or
  // its mirror.
  const plain = new SimClrView({
    ...simclrViewDefaults(8),
    scaleMin: 1,
    strength: 0,
    jitterProb: 0,
    grayProb: 0,
    blurProb: 0,
  });
  const square: RawImage = {
    data: Uint8Array.from({ length: 8 * 8 * 3 }, (_, i) => (i * 37) % 251),
    width: 8,
    height: 8,
    channels: 3,
  };
  const mirror = new Uint8Array(square.data.length);
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      for (let k = 0; k < 3; k++) {
        mirror[(y * 8 + 7 - x) * 3 + k] = square.data[(y * 8 + x) * 3 + k];
      }
    }
  }
  let flips = 0;
  for (let seed = 0; seed < 40; seed++) {
    const v = plain.apply({ id: 0, image: square }, new Rng(seed)).image.data;
    const flipped = v.every((x, i) => x === mirror[i]);
    assert.ok(flipped || v.every((x, i) => x === square.data[i]));
    if (flipped) flips++;
  }
  assert.ok(flips > 5 && flips < 35, `flipped ${flips} of 40`);
  assert.throws(
    () => new SimClrView({ ...simclrViewDefaults(8), grayProb: 2 }),
    /probabilities/,
  );
});

Deno.test("projection head: dense-BN-ReLU layers to the output width, BN on the last", () => {
  const head = withInitSeed(1, () =>
    new ProjectionHead({
      inFeatures: 6,
      hidden: 5,
      outFeatures: 3,
      layers: 3,
      bnMomentum: 0.9,
    }));
  const names = head.namedParameters().map(([n]) => n);
  assert.deepEqual(names, [
    "layer1.dense.kernel",
    "layer1.dense.bias",
    "layer1.bn.gamma",
    "layer1.bn.beta",
    "layer2.dense.kernel",
    "layer2.dense.bias",
    "layer2.bn.gamma",
    "layer2.bn.beta",
    "layer3.dense.kernel",
    "layer3.dense.bias",
    "layer3.bn.gamma",
    "layer3.bn.beta",
  ]);
  const x = tf.randomNormal([8, 6], 0, 1, "float32", 4) as tf.Tensor2D;
  const z = head.apply(x, { training: true });
  assert.deepEqual(z.shape, [8, 3]);
  // Training-mode BN on the output: each column has mean 0 (gamma 1, beta 0)
  // and some entries negative (no ReLU after the last layer).
  const mean = tf.mean(z, 0).dataSync();
  for (const m of mean) assert.ok(Math.abs(m) < 1e-5);
  assert.ok(z.dataSync().some((v) => v < 0));
  tf.dispose([x, z]);
  head.dispose();
});

Deno.test("two-view plan: each image twice, rows i and i + N, different augmentation seeds", () => {
  const data = new ShapeDataset(0, 0, 10, 8);
  const base = shuffledPlan(data, 4, 7);
  const plan = twoViewPlan(base);
  const refs = plan(3), orig = base(3);
  assert.equal(refs.length, 8);
  for (let i = 0; i < 4; i++) {
    assert.equal(refs[i].index, orig[i].index);
    assert.equal(refs[i + 4].index, orig[i].index);
    assert.notEqual(refs[i].seed, refs[i + 4].seed);
  }
  assert.deepEqual(plan(3), refs);
});
