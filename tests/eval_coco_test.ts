import assert from "node:assert/strict";
import {
  type CocoDataset,
  type CocoResult,
  evaluateCoco,
  formatCocoSummary,
} from "../eval/mod.ts";

type Box = [number, number, number, number];

/** Small builder: gts as [imageId, catId, box, opts]. */
function dataset(
  imageIds: number[],
  catIds: number[],
  gts: [
    number,
    number,
    Box,
    { area?: number; crowd?: boolean; id?: number }?,
  ][],
): CocoDataset {
  return {
    images: imageIds.map((id) => ({
      id,
      file_name: `${id}.jpg`,
      width: 640,
      height: 480,
    })),
    categories: catIds.map((id) => ({ id, name: `c${id}` })),
    annotations: gts.map(([image_id, category_id, bbox, o], n) => ({
      id: o?.id ?? n + 1,
      image_id,
      category_id,
      bbox,
      area: o?.area ?? bbox[2] * bbox[3],
      iscrowd: o?.crowd ? 1 : 0,
    })),
  };
}

function det(
  image_id: number,
  category_id: number,
  bbox: Box,
  score: number,
): CocoResult {
  return { image_id, category_id, bbox, score };
}

const close = (a: number, b: number, msg?: string) =>
  assert.ok(Math.abs(a - b) < 1e-12, `${msg ?? ""} ${a} != ${b}`);
const closeAll = (a: number[], b: number[]) => {
  assert.equal(a.length, b.length);
  a.forEach((v, i) => close(v, b[i], `stats[${i}]`));
};

Deno.test("perfect detection: 1 everywhere defined, -1 for empty area ranges", () => {
  const gt = dataset([1], [1], [[1, 1, [10, 10, 50, 50]]]);
  const r = evaluateCoco(gt, [det(1, 1, [10, 10, 50, 50], 0.9)]);
  closeAll(r.stats, [1, 1, 1, -1, 1, -1, 1, 1, 1, -1, 1, -1]);
  close(r.metrics.APm, 1);
  close(r.metrics.APs, -1);
});

Deno.test("a higher-scored false positive halves AP; maxDets=1 sees only it", () => {
  const gt = dataset([1], [1], [[1, 1, [10, 10, 50, 50]]]);
  const r = evaluateCoco(gt, [
    det(1, 1, [200, 200, 50, 50], 0.9),
    det(1, 1, [10, 10, 50, 50], 0.8),
  ]);
  close(r.metrics.AP, 0.5);
  close(r.metrics.AP50, 0.5);
  close(r.metrics.AR1, 0);
  close(r.metrics.AR10, 1);
  close(r.metrics.AR100, 1);
});

Deno.test("IoU thresholds: a det at IoU 0.6 counts for 0.50-0.60 only", () => {
  // gt 100x100; det shifted to get IoU = 75*100 / (2*10000 - 7500) = 0.6.
  const gt = dataset([1], [1], [[1, 1, [0, 0, 100, 100]]]);
  const r = evaluateCoco(gt, [det(1, 1, [25, 0, 100, 100], 0.5)]);
  // Thresholds 0.50, 0.55, 0.60 matched (>=), 7 of 10 missed.
  close(r.metrics.AP, 0.3);
  close(r.metrics.AP50, 1);
  close(r.metrics.AP75, 0);
  close(r.metrics.AR100, 0.3);
});

Deno.test("crowd: matched detections ignored, crowd never a miss, reused", () => {
  const gt = dataset([1], [1], [
    [1, 1, [0, 0, 40, 40]],
    [1, 1, [100, 100, 200, 200], { crowd: true }],
  ]);
  const r = evaluateCoco(gt, [
    det(1, 1, [120, 120, 30, 30], 0.95), // inside crowd: IoU = 1 (over det area)
    det(1, 1, [150, 150, 30, 30], 0.9), // crowd matched again
    det(1, 1, [0, 0, 40, 40], 0.5),
  ]);
  close(r.metrics.AP, 1);
  close(r.metrics.AR100, 1);
  // The same detections without the crowd flag: two FPs and one miss.
  const plain = dataset([1], [1], [
    [1, 1, [0, 0, 40, 40]],
    [1, 1, [100, 100, 200, 200]],
  ]);
  const p = evaluateCoco(plain, [
    det(1, 1, [120, 120, 30, 30], 0.95),
    det(1, 1, [150, 150, 30, 30], 0.9),
    det(1, 1, [0, 0, 40, 40], 0.5),
  ]);
  assert.ok(p.metrics.AP < 0.5);
  close(p.metrics.AR100, 0.5);
});

Deno.test("a regular gt is preferred over a better-overlapping crowd region", () => {
  const gt = dataset([1], [1], [
    [1, 1, [0, 0, 100, 100], { crowd: true }],
    [1, 1, [0, 0, 100, 60]],
  ]);
  // IoU with regular gt 0.6; with crowd 1.0 (det inside). Matched to the
  // regular gt at thresholds <= 0.6 (TP), to the crowd above (ignored).
  const r = evaluateCoco(gt, [det(1, 1, [0, 0, 100, 100], 0.9)]);
  close(r.metrics.AR100, 0.3);
  close(r.metrics.AP, 0.3);
});

Deno.test("area ranges use the annotation area field; unmatched out-of-range dets ignored", () => {
  // bbox 40x40 (1600, medium by box) but area field 900: a small object.
  const gt = dataset([1], [1], [[1, 1, [0, 0, 40, 40], { area: 900 }]]);
  const r = evaluateCoco(gt, [
    det(1, 1, [300, 300, 50, 50], 0.9), // FP, area 2500 (medium)
    det(1, 1, [0, 0, 40, 40], 0.8), // TP
  ]);
  close(r.metrics.AP, 0.5);
  close(r.metrics.APs, 1); // the medium FP is ignored for "small"
  close(r.metrics.APm, -1);
  close(r.metrics.APl, -1);
  close(r.metrics.ARs, 1);
});

Deno.test("area exactly 32^2 is both small and medium (inclusive bounds)", () => {
  const gt = dataset([1], [1], [[1, 1, [0, 0, 32, 32]]]);
  const r = evaluateCoco(gt, [det(1, 1, [0, 0, 32, 32], 0.9)]);
  close(r.metrics.APs, 1);
  close(r.metrics.APm, 1);
  close(r.metrics.APl, -1);
});

Deno.test("maxDets: AR1/AR10 and the per-image cap of 100", () => {
  const gt = dataset([1], [1], [
    [1, 1, [0, 0, 50, 50]],
    [1, 1, [100, 0, 50, 50]],
    [1, 1, [200, 0, 50, 50]],
  ]);
  const r = evaluateCoco(gt, [
    det(1, 1, [0, 0, 50, 50], 0.9),
    det(1, 1, [100, 0, 50, 50], 0.8),
    det(1, 1, [200, 0, 50, 50], 0.7),
  ]);
  close(r.metrics.AR1, 1 / 3);
  close(r.metrics.AR10, 1);
  close(r.metrics.AP, 1);
  // 100 higher-scored FPs push the only TP out of the top 100.
  const one = dataset([1], [1], [[1, 1, [0, 0, 50, 50]]]);
  const dets = Array.from(
    { length: 100 },
    (_, n) => det(1, 1, [300, 300, 10, 10], 0.9 - n * 1e-3),
  );
  dets.push(det(1, 1, [0, 0, 50, 50], 0.01));
  const c = evaluateCoco(one, dets);
  close(c.metrics.AP, 0);
  close(c.metrics.AR100, 0);
});

Deno.test("images without gt: their detections are false positives", () => {
  const gt = dataset([1, 2, 3], [1], [[1, 1, [0, 0, 50, 50]]]);
  const r = evaluateCoco(gt, [
    det(2, 1, [0, 0, 50, 50], 0.9),
    det(1, 1, [0, 0, 50, 50], 0.8),
  ]);
  close(r.metrics.AP, 0.5);
  // Image 3 has nothing at all and changes nothing.
  close(evaluateCoco(gt, [det(1, 1, [0, 0, 50, 50], 0.8)]).metrics.AP, 1);
});

Deno.test("categories without gt are -1 and left out of the mean", () => {
  const gt = dataset([1], [1, 2, 7], [[1, 1, [0, 0, 50, 50]], [1, 7, [
    0,
    0,
    60,
    60,
  ]]]);
  const r = evaluateCoco(gt, [
    det(1, 1, [0, 0, 50, 50], 0.9),
    det(1, 2, [0, 0, 50, 50], 0.9), // category 2 has no gt
    det(1, 7, [200, 200, 60, 60], 0.9), // miss
    det(1, 99, [0, 0, 50, 50], 0.9), // unknown category: dropped
  ]);
  assert.deepEqual(r.perCategory.map((c) => c.categoryId), [1, 2, 7]);
  closeAll(r.perCategory.map((c) => c.AP), [1, -1, 0]);
  close(r.metrics.AP, 0.5);
  assert.equal(r.numDetections, 3);
});

Deno.test("ties: equal scores rank by image id, then by file order within an image", () => {
  const gt = dataset([1, 2], [1], [[2, 1, [0, 0, 50, 50]]]);
  // FP in image 1 and TP in image 2 at the same score: FP ranks first.
  const fpFirst = evaluateCoco(gt, [
    det(2, 1, [0, 0, 50, 50], 0.5),
    det(1, 1, [0, 0, 50, 50], 0.5),
  ]);
  close(fpFirst.metrics.AP, 0.5);
  const gt1 = dataset([1, 2], [1], [[1, 1, [0, 0, 50, 50]]]);
  const tpFirst = evaluateCoco(gt1, [
    det(2, 1, [0, 0, 50, 50], 0.5),
    det(1, 1, [0, 0, 50, 50], 0.5),
  ]);
  close(tpFirst.metrics.AP, 1);
  // Within one image, the earlier of two tied duplicates takes the gt.
  const gt3 = dataset([1], [1], [[1, 1, [0, 0, 100, 100]]]);
  const a = evaluateCoco(gt3, [
    det(1, 1, [0, 0, 100, 100], 0.5),
    det(1, 1, [0, 0, 100, 60], 0.5),
  ]);
  const b = evaluateCoco(gt3, [
    det(1, 1, [0, 0, 100, 60], 0.5),
    det(1, 1, [0, 0, 100, 100], 0.5),
  ]);
  close(a.metrics.AP75, 1);
  close(b.metrics.AP75, 0.5);
});

Deno.test("no detections at all: zeros where gt exists", () => {
  const gt = dataset([1], [1], [[1, 1, [0, 0, 50, 50]]]);
  const r = evaluateCoco(gt, []);
  closeAll(r.stats, [0, 0, 0, -1, 0, -1, 0, 0, 0, -1, 0, -1]);
});

Deno.test("unknown image ids are an error unless ignored", () => {
  const gt = dataset([1], [1], [[1, 1, [0, 0, 50, 50]]]);
  const dets = [det(1, 1, [0, 0, 50, 50], 0.9), det(5, 1, [0, 0, 50, 50], 0.9)];
  assert.throws(
    () => evaluateCoco(gt, dets, { resultsFile: "d.json" }),
    /^Error: d\.json: detections reference image_id 5/,
  );
  close(evaluateCoco(gt, dets, { unknownImages: "ignore" }).metrics.AP, 1);
});

Deno.test("summary printout matches pycocotools' layout", () => {
  const lines = formatCocoSummary([
    0.361,
    0.618,
    0.371,
    0.093,
    0.453,
    0.644,
    0.165,
    0.396,
    0.42,
    0.144,
    0.526,
    -1,
  ])
    .split("\n");
  assert.equal(lines.length, 12);
  assert.equal(
    lines[0],
    " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.361",
  );
  assert.equal(
    lines[6],
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.165",
  );
  assert.equal(
    lines[11],
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = -1.000",
  );
  assert.ok(lines[1].includes("IoU=0.50      | area=   all"));
});
