import assert from "node:assert/strict";
import {
  binFate,
  classShares,
  scoreBins,
  sharesDisagree,
} from "../ui/pseudo_data.ts";
import { classIou } from "../ui/seg_data.ts";

Deno.test("pseudo views: class shares compare pseudo and human labels and mark the skewed ones", () => {
  const s = classShares(
    { circle: 600, square: 300, star: 100 },
    { circle: 250, square: 250, star: 250, hexagon: 250 },
  );
  assert.deepEqual(s.classes, ["circle", "square", "hexagon", "star"]);
  assert.deepEqual(s.pseudo, {
    circle: 0.6,
    square: 0.3,
    star: 0.1,
    hexagon: 0,
  });
  assert.equal(s.human.circle, 0.25);
  // circle 60% vs 25%, star 10% vs 25%, hexagon 0% vs 25%; square 30 vs 25.
  assert.deepEqual([...s.flagged].sort(), ["circle", "hexagon", "star"]);
  assert.equal(s.total, 4);
  const few = classShares({ a: 1, b: 1, c: 1 }, undefined, 2);
  assert.deepEqual(few.classes, ["a", "b"]);
  assert.deepEqual(few.human, {});
  assert.equal(few.flagged.size, 0, "nothing to compare against");
  assert.equal(few.total, 3);
});

Deno.test("pseudo views: shares disagree 10 points apart or 2x apart beyond 2 points", () => {
  assert.equal(sharesDisagree(0.35, 0.25), true);
  assert.equal(sharesDisagree(0.3, 0.25), false);
  assert.equal(sharesDisagree(0.05, 0.02), true);
  assert.equal(sharesDisagree(0.015, 0.005), false);
  assert.equal(sharesDisagree(0.02, 0.05), true);
});

Deno.test("pseudo views: score bins from lower edges or all boundaries, and their fate", () => {
  const counts = [5, 4, 3, 2, 1, 0, 1, 2, 3, 4];
  const lower = scoreBins({
    edges: counts.map((_, i) => i / 10),
    counts,
  });
  const bounds = scoreBins({
    edges: Array.from({ length: 11 }, (_, i) => i / 10),
    counts,
  });
  assert.deepEqual(lower, bounds);
  assert.equal(lower.length, 10);
  assert.deepEqual(lower[0], { label: "0.0", lo: 0, hi: 0.1, count: 5 });
  assert.deepEqual(lower[9], { label: "0.9", lo: 0.9, hi: 1, count: 4 });
  assert.deepEqual(scoreBins({ edges: [0], counts: [1, 2] }), []);
  assert.deepEqual(scoreBins(null), []);
  const fates = lower.map((b) => binFate(b, 0.3, 0.1));
  assert.deepEqual(fates, [
    "dropped",
    "ignored",
    "ignored",
    ...Array(7).fill("kept"),
  ]);
  assert.equal(binFate(lower[1], 0.3, 0), "dropped");
  assert.equal(binFate(lower[1], undefined, 0.1), null);
});

Deno.test("segmentation views: per-class IoU of each model from its IoU/<class> keys", () => {
  const c = classIou({
    teacher: { mIoU: 0.5, "IoU/background": 0.9, "IoU/cat": 0.1 },
    baseline: undefined,
    student: {
      "IoU/background": 0.92,
      "IoU/dog": 0.3,
      "tune/IoU/cat": 0.7,
      "IoU/cat": 0.2,
    },
    detector: { AP: 0.3 },
  });
  assert.deepEqual(c.classes, ["background", "cat", "dog"]);
  assert.deepEqual(c.series, [
    { name: "teacher", values: { background: 0.9, cat: 0.1 } },
    { name: "student", values: { background: 0.92, dog: 0.3, cat: 0.2 } },
  ]);
  assert.deepEqual(classIou({ a: { AP: 1 } }), { classes: [], series: [] });
});
