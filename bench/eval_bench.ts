/**
 * COCO evaluation speed: 5,000 images × 100 detections (500,000 detections,
 * 80 categories, ~7 ground-truth objects per image), the size of COCO val.
 */
import {
  type CocoDataset,
  type CocoResult,
  evaluateCoco,
} from "../eval/mod.ts";
import { Rng } from "../core/rng.ts";

function fixture(
  numImages: number,
  detsPerImage: number,
): [CocoDataset, CocoResult[]] {
  const rng = new Rng(2020);
  const gt: CocoDataset = { images: [], annotations: [], categories: [] };
  for (let c = 1; c <= 80; c++) gt.categories.push({ id: c, name: `c${c}` });
  const results: CocoResult[] = [];
  let annId = 1;
  for (let i = 1; i <= numImages; i++) {
    gt.images.push({ id: i, file_name: `${i}.jpg`, width: 640, height: 480 });
    const objs: CocoDataset["annotations"] = [];
    for (let n = 0, len = 1 + rng.int(12); n < len; n++) {
      const w = 4 + rng.int(300), h = 4 + rng.int(300);
      const a = {
        id: annId++,
        image_id: i,
        category_id: 1 + rng.int(80),
        bbox: [rng.int(640 - w), rng.int(480 - h), w, h] as [
          number,
          number,
          number,
          number,
        ],
        area: w * h * 0.7,
        iscrowd: rng.bernoulli(0.01) ? 1 : 0,
      };
      objs.push(a);
      gt.annotations.push(a);
    }
    for (let d = 0; d < detsPerImage; d++) {
      const a = objs[rng.int(objs.length)];
      const jitter = (v: number) =>
        Math.max(0, v + rng.normal() * 0.1 * a.bbox[2]);
      results.push({
        image_id: i,
        category_id: rng.bernoulli(0.7) ? a.category_id : 1 + rng.int(80),
        bbox: rng.bernoulli(0.5)
          ? a.bbox.map(jitter) as [number, number, number, number]
          : [
            rng.uniform(0, 600),
            rng.uniform(0, 440),
            rng.uniform(2, 200),
            rng.uniform(2, 200),
          ],
        score: rng.next(),
      });
    }
  }
  return [gt, results];
}

const [gt, results] = fixture(5000, 100);

Deno.bench(
  "evaluateCoco 5,000 images x 100 detections",
  { n: 3, warmup: 1 },
  () => {
    evaluateCoco(gt, results);
  },
);
