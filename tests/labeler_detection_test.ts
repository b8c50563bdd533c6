import assert from "node:assert/strict";
import { Registry } from "../core/registry.ts";
import type { Detection, Prediction, Sample } from "../core/types.ts";
import { pseudoLabelledSample } from "../selftrain/pseudo_labels.ts";
import labelers, {
  boxIou,
  classwiseNms,
  HARD_DETECTION_DEFAULTS,
  hardDetectionLabel,
} from "../plugins/labelers/mod.ts";

// Sample image is the source downscaled by 2 (meta.scale 0.5): 200x160 → 100x80.
const sample: Sample = {
  id: 7,
  image: {
    data: new Uint8Array(100 * 80 * 3),
    width: 100,
    height: 80,
    channels: 3,
  },
  boxes: Float32Array.of(1, 1, 2, 2),
  labels: Int32Array.of(0),
  mask: new Uint8Array(4),
  meta: { sourceWidth: 200, sourceHeight: 160, scale: 0.5 },
};
const detections: Detection[] = [
  { box: [10, 20, 50, 60], label: 1, score: 0.9 },
  { box: [12, 22, 52, 62], label: 1, score: 0.6 }, // IoU 0.822 with the first
  { box: [0, 0, 10, 10], label: 0, score: 0.49 }, // below threshold
  { box: [180, 140, 260, 200], label: 2, score: 0.5 }, // partly outside: clipped
  { box: [250, 0, 300, 10], label: 0, score: 0.95 }, // fully outside the image
];
const prediction: Prediction = { id: 7, detections };

function approx(actual: ArrayLike<number>, expected: number[], tol = 1e-6) {
  assert.equal(
    actual.length,
    expected.length,
    `length of ${[...Array.from(actual)]}`,
  );
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol,
      `[${i}] ${actual[i]} vs ${expected[i]}`,
    );
  }
}

Deno.test("hard: threshold and clipping in source pixels; scores kept", () => {
  const out = hardDetectionLabel(prediction, sample)!;
  assert.deepEqual([out.id, out.width, out.height], [7, 200, 160]);
  approx(out.boxes, [10, 20, 50, 60, 12, 22, 52, 62, 180, 140, 200, 160]);
  assert.deepEqual([...out.classes], [1, 1, 2]);
  approx(out.scores, [0.9, 0.6, 0.5]);
  assert.deepEqual([...out.ignore], [0, 0, 0]);
  assert.equal(out.mask, undefined);
});

Deno.test("pseudoLabelledSample: the one conversion to sample pixels, human targets replaced", () => {
  const labels = hardDetectionLabel(prediction, sample, {
    ...HARD_DETECTION_DEFAULTS,
    ignoreBelow: 0.4,
  })!;
  const out = pseudoLabelledSample(sample, labels);
  approx(out.boxes!, [
    5,
    10,
    25,
    30,
    6,
    11,
    26,
    31,
    90,
    70,
    100,
    80,
    0,
    0,
    5,
    5,
  ]);
  assert.deepEqual([...out.labels!], [1, 1, 2, 0]);
  assert.deepEqual([...out.crowd!], [0, 0, 0, 1]);
  approx(out.scores!, [0.9, 0.6, 0.5, 0.49]);
  assert.equal(out.pseudo, true);
  assert.equal(out.mask, undefined); // the human mask is not a pseudo target
  assert.equal(out.image, sample.image);
  // A box that scales to nothing inside the sample is dropped.
  const tiny = {
    ...labels,
    boxes: Float32Array.of(300, 300, 320, 320),
    classes: Int32Array.of(1),
    scores: Float32Array.of(1),
    ignore: Uint8Array.of(0),
  };
  assert.equal(pseudoLabelledSample(sample, tiny).boxes!.length, 0);
});

Deno.test("hard: optional class-wise NMS and max detections", () => {
  const cfg = { ...HARD_DETECTION_DEFAULTS, nms: true, nmsIou: 0.5 };
  const out = hardDetectionLabel(prediction, sample, cfg)!;
  assert.deepEqual([...out.classes], [1, 2]);
  const loose = hardDetectionLabel(prediction, sample, {
    ...cfg,
    nmsIou: 0.9,
  })!;
  assert.deepEqual([...loose.classes], [1, 1, 2]);
  const capped = hardDetectionLabel(prediction, sample, {
    ...cfg,
    maxDetections: 1,
  })!;
  assert.deepEqual([...capped.classes], [1]);
});

Deno.test("hard: empty images kept or dropped; mismatched ids rejected", () => {
  const empty: Prediction = { id: 7, detections: [detections[2]] };
  assert.equal(hardDetectionLabel(empty, sample)!.boxes.length, 0);
  assert.equal(
    hardDetectionLabel(empty, sample, {
      ...HARD_DETECTION_DEFAULTS,
      keepEmpty: false,
    }),
    null,
  );
  assert.throws(
    () => hardDetectionLabel({ id: 8, detections }, sample),
    /does not match/,
  );
  assert.throws(() => hardDetectionLabel({ id: 7 }, sample), /no detections/);
});

Deno.test("hard: registered plugin honours config overrides", () => {
  const registry = new Registry().use(labelers);
  assert.deepEqual(registry.list("labeler"), ["hard", "hard-seg"]);
  const labeler = registry.create("labeler", "hard", { threshold: 0.7 });
  const out = labeler.label(prediction, sample)!;
  approx(out.boxes, [10, 20, 50, 60]);
  assert.throws(() => registry.create("labeler", "hard", { threshold: "x" }));
});

Deno.test("box ops: IoU and class-wise NMS", () => {
  assert.ok(
    Math.abs(boxIou([10, 20, 50, 60], [12, 22, 52, 62]) - 1444 / 1756) < 1e-12,
  );
  assert.equal(boxIou([0, 0, 1, 1], [1, 1, 2, 2]), 0);
  const kept = classwiseNms([
    { box: [0, 0, 10, 10], label: 0, score: 0.5 },
    { box: [0, 0, 10, 10], label: 1, score: 0.7 }, // other class: not suppressed
    { box: [1, 1, 10, 10], label: 0, score: 0.8 },
  ], 0.5);
  assert.deepEqual(kept.map((d) => d.score), [0.8, 0.7]);
});

Deno.test("hard: uncertain boxes in [ignoreBelow, threshold) become ignore regions", () => {
  const out = hardDetectionLabel(prediction, sample, {
    ...HARD_DETECTION_DEFAULTS,
    ignoreBelow: 0.4,
  })!;
  // 0.9, 0.6, 0.5 stay positives; 0.49 becomes an ignore region; the box
  // outside the image is dropped; order is by score.
  assert.deepEqual(Array.from(out.scores!).map((s) => +s.toFixed(2)), [
    0.9,
    0.6,
    0.5,
    0.49,
  ]);
  assert.deepEqual(Array.from(out.ignore), [0, 0, 0, 1]);
  approx(out.boxes.subarray(12, 16), [0, 0, 10, 10]);
  // ignoreBelow = threshold (the default) keeps the paper's rule: nothing ignored.
  const plain = hardDetectionLabel(prediction, sample)!;
  assert.deepEqual(Array.from(plain.ignore), [0, 0, 0]);
});

Deno.test("hard: class-agnostic NMS keeps one box per object across classes", () => {
  // The same object given two classes (IoU 0.822), plus a distinct box.
  const unsure: Prediction = {
    id: 7,
    detections: [
      { box: [10, 20, 50, 60], label: 1, score: 0.7 },
      { box: [12, 22, 52, 62], label: 2, score: 0.8 },
      { box: [100, 100, 140, 140], label: 1, score: 0.6 },
    ],
  };
  const cfg = { ...HARD_DETECTION_DEFAULTS, nms: true, nmsIou: 0.5 };
  const classwise = hardDetectionLabel(unsure, sample, cfg)!;
  assert.deepEqual([...classwise.classes], [2, 1, 1]);
  const agnostic = hardDetectionLabel(unsure, sample, {
    ...cfg,
    classAgnostic: true,
  })!;
  assert.deepEqual([...agnostic.classes], [2, 1]);
  approx(agnostic.scores!, [0.8, 0.6]);
  approx(agnostic.boxes, [12, 22, 52, 62, 100, 100, 140, 140]);
});
