/**
 * Property test: `evaluateCoco` against a slow, literal reference of
 * pycocotools COCOeval (objects, nested loops, comparator sorts) written
 * independently here, on random inputs with ties, crowds, varied areas,
 * images and categories without ground truth, and gt id 0.
 */
import assert from "node:assert/strict";
import {
  type CocoDataset,
  type CocoResult,
  evaluateCoco,
} from "../eval/mod.ts";
import { Rng } from "../core/rng.ts";

type Gt = CocoDataset["annotations"][number] & { _ignore?: number };
type Dt = CocoResult & { id: number; area: number };

function lin(a: number, b: number, n: number): number[] {
  const step = (b - a) / (n - 1);
  const v = Array.from({ length: n }, (_, i) => i * step + a);
  v[n - 1] = b;
  return v;
}

function iou(d: number[], g: number[], crowd: boolean): number {
  const w = Math.min(d[0] + d[2], g[0] + g[2]) - Math.max(d[0], g[0]);
  const h = Math.min(d[1] + d[3], g[1] + g[3]) - Math.max(d[1], g[1]);
  if (w <= 0 || h <= 0) return 0;
  const i = w * h;
  return i / (crowd ? d[2] * d[3] : d[2] * d[3] + g[2] * g[3] - i);
}

const byScoreDesc = <T extends { score: number }>(xs: T[]): T[] =>
  xs.map((x, i) => [x, i] as const)
    .sort((a, b) => b[0].score - a[0].score || a[1] - b[1])
    .map((p) => p[0]);

function reference(gtData: CocoDataset, results: CocoResult[]): number[] {
  const iouThrs = lin(0.5, 0.95, 10);
  const recThrs = lin(0, 1, 101);
  const areaRng = [[0, 1e10], [0, 1024], [1024, 9216], [9216, 1e10]];
  const maxDets = [1, 10, 100];
  const imgIds = [...new Set(gtData.images.map((i) => i.id))].sort((a, b) =>
    a - b
  );
  const catIds = [...new Set(gtData.categories.map((c) => c.id))].sort((a, b) =>
    a - b
  );
  const dts: Dt[] = results.map((r, n) => ({
    ...r,
    id: n + 1,
    area: r.bbox[2] * r.bbox[3],
  }));
  const gtsOf = (i: number, c: number) =>
    gtData.annotations.filter((a) => a.image_id === i && a.category_id === c)
      .map((a) => ({ ...a })) as Gt[];
  const dtsOf = (i: number, c: number) =>
    dts.filter((d) => d.image_id === i && d.category_id === c);
  type E = {
    dtScores: number[];
    dtm: number[][];
    dtIg: boolean[][];
    gtIg: number[];
  } | null;
  const evalImgs = new Map<string, E>();
  for (const c of catIds) {
    for (let a = 0; a < 4; a++) {
      for (const i of imgIds) {
        let gt = gtsOf(i, c);
        let dt = dtsOf(i, c);
        if (gt.length === 0 && dt.length === 0) {
          evalImgs.set(`${c},${a},${i}`, null);
          continue;
        }
        const [lo, hi] = areaRng[a];
        for (const g of gt) {
          g._ignore = g.iscrowd || g.area < lo || g.area > hi ? 1 : 0;
        }
        gt = [...gt.filter((g) => !g._ignore), ...gt.filter((g) => g._ignore)];
        dt = byScoreDesc(dt).slice(0, 100);
        const T = iouThrs.length;
        const gtm = iouThrs.map(() => gt.map(() => 0));
        const dtm = iouThrs.map(() => dt.map(() => 0));
        const dtIg = iouThrs.map(() => dt.map(() => false));
        const gtIg = gt.map((g) => g._ignore!);
        for (let t = 0; t < T; t++) {
          dt.forEach((d, di) => {
            let best = Math.min(iouThrs[t], 1 - 1e-10);
            let m = -1;
            for (let gi = 0; gi < gt.length; gi++) {
              if (gtm[t][gi] > 0 && !gt[gi].iscrowd) continue;
              if (m > -1 && gtIg[m] === 0 && gtIg[gi] === 1) break;
              const v = iou(d.bbox, gt[gi].bbox, !!gt[gi].iscrowd);
              if (v < best) continue;
              best = v;
              m = gi;
            }
            if (m === -1) return;
            dtIg[t][di] = gtIg[m] === 1;
            dtm[t][di] = gt[m].id;
            gtm[t][m] = d.id;
          });
          dt.forEach((d, di) => {
            if (dtm[t][di] === 0 && (d.area < lo || d.area > hi)) {
              dtIg[t][di] = true;
            }
          });
        }
        evalImgs.set(`${c},${a},${i}`, {
          dtScores: dt.map((d) => d.score),
          dtm,
          dtIg,
          gtIg,
        });
      }
    }
  }
  // precision[t][r][k][a][m], recall[t][k][a][m] as nested maps keyed by string.
  const prec = new Map<string, number>();
  const rec = new Map<string, number>();
  catIds.forEach((c, k) => {
    for (let a = 0; a < 4; a++) {
      maxDets.forEach((maxDet, m) => {
        const E = imgIds.map((i) => evalImgs.get(`${c},${a},${i}`)).filter((
          e,
        ) => e) as NonNullable<E>[];
        if (E.length === 0) return;
        const items: { score: number; dtm: number[]; ig: boolean[] }[] = [];
        for (const e of E) {
          e.dtScores.slice(0, maxDet).forEach((s, j) =>
            items.push({
              score: s,
              dtm: e.dtm.map((row) => row[j]),
              ig: e.dtIg.map((row) => row[j]),
            })
          );
        }
        const sorted = byScoreDesc(items);
        const npig = E.flatMap((e) => e.gtIg).filter((g) => g === 0).length;
        if (npig === 0) return;
        iouThrs.forEach((_, t) => {
          let tp = 0, fp = 0;
          const rc: number[] = [], pr: number[] = [];
          for (const it of sorted) {
            if (it.dtm[t] && !it.ig[t]) tp++;
            if (!it.dtm[t] && !it.ig[t]) fp++;
            rc.push(tp / npig);
            pr.push(tp / (fp + tp + 2.220446049250313e-16));
          }
          rec.set(`${t},${k},${a},${m}`, rc.length ? rc[rc.length - 1] : 0);
          for (let j = pr.length - 1; j > 0; j--) {
            pr[j - 1] = Math.max(pr[j - 1], pr[j]);
          }
          recThrs.forEach((thr, r) => {
            const j = rc.findIndex((v) => v >= thr);
            prec.set(`${t},${r},${k},${a},${m}`, j === -1 ? 0 : pr[j]);
          });
        });
      });
    }
  });
  const summ = (
    ap: boolean,
    t: number | null,
    a: number,
    m: number,
  ): number => {
    const vals: number[] = [];
    for (let tt = 0; tt < 10; tt++) {
      if (t !== null && tt !== t) continue;
      catIds.forEach((_, k) => {
        if (ap) {
          for (let r = 0; r < 101; r++) {
            vals.push(prec.get(`${tt},${r},${k},${a},${m}`) ?? -1);
          }
        } else vals.push(rec.get(`${tt},${k},${a},${m}`) ?? -1);
      });
    }
    const v = vals.filter((x) => x > -1);
    return v.length ? v.reduce((s, x) => s + x, 0) / v.length : -1;
  };
  return [
    summ(true, null, 0, 2),
    summ(true, 0, 0, 2),
    summ(true, 5, 0, 2),
    summ(true, null, 1, 2),
    summ(true, null, 2, 2),
    summ(true, null, 3, 2),
    summ(false, null, 0, 0),
    summ(false, null, 0, 1),
    summ(false, null, 0, 2),
    summ(false, null, 1, 2),
    summ(false, null, 2, 2),
    summ(false, null, 3, 2),
  ];
}

function randomCase(seed: number): [CocoDataset, CocoResult[]] {
  const rng = new Rng(seed);
  const nImg = 1 + rng.int(6);
  const nCat = 1 + rng.int(4);
  const images = Array.from(
    { length: nImg },
    (_, i) => ({
      id: 3 * i + 1 + rng.int(3),
      file_name: "",
      width: 300,
      height: 300,
    }),
  );
  const categories = Array.from(
    { length: nCat },
    (_, k) => ({ id: 2 * k + 1, name: `c${k}` }),
  );
  const box = (): [number, number, number, number] => {
    const s = [4, 16, 40, 110][rng.int(4)];
    return [rng.int(60), rng.int(60), 1 + rng.int(s), 1 + rng.int(s)];
  };
  const annotations = [];
  // Some images and the last category get no gt.
  for (let n = 0, len = rng.int(14); n < len; n++) {
    const bbox = box();
    annotations.push({
      id: rng.bernoulli(0.05) ? 0 : n + 1,
      image_id: images[rng.int(Math.max(1, nImg - 1))].id,
      category_id: categories[rng.int(Math.max(1, nCat - 1))].id,
      bbox,
      area: rng.bernoulli(0.8) ? bbox[2] * bbox[3] : rng.uniform(0, 12000),
      iscrowd: rng.bernoulli(0.12) ? 1 : 0,
    });
  }
  const results: CocoResult[] = [];
  for (let n = 0, len = rng.int(40); n < len; n++) {
    const near = annotations.length > 0 && rng.bernoulli(0.6);
    const a = near ? annotations[rng.int(annotations.length)] : undefined;
    const bbox = a
      ? a.bbox.map((v) => Math.max(0, v + rng.int(7) - 3)) as [
        number,
        number,
        number,
        number,
      ]
      : box();
    if (bbox[2] === 0) bbox[2] = 1;
    results.push({
      image_id: a && rng.bernoulli(0.8) ? a.image_id : images[rng.int(nImg)].id,
      category_id: a && rng.bernoulli(0.8)
        ? a.category_id
        : 1 + rng.int(2 * nCat + 1),
      bbox,
      score: rng.bernoulli(0.3) ? 0.5 : Math.round(rng.next() * 20) / 20,
    });
  }
  return [{ images, categories, annotations }, results];
}

Deno.test("evaluateCoco agrees with the literal reference on 300 random cases", () => {
  for (let seed = 0; seed < 300; seed++) {
    const [gt, results] = randomCase(seed);
    const want = reference(gt, results);
    const got = evaluateCoco(gt, results).stats;
    for (let s = 0; s < 12; s++) {
      assert.ok(
        Math.abs(got[s] - want[s]) < 1e-6,
        `seed ${seed} stat ${s}: got ${got[s]}, reference ${want[s]}`,
      );
    }
  }
});

Deno.test("per-image cap: more than 100 detections per image agree too", () => {
  const rng = new Rng(7);
  const gt: CocoDataset = {
    images: [{ id: 1, file_name: "", width: 100, height: 100 }, {
      id: 2,
      file_name: "",
      width: 100,
      height: 100,
    }],
    categories: [{ id: 1, name: "a" }],
    annotations: Array.from({ length: 30 }, (_, n) => ({
      id: n + 1,
      image_id: 1 + (n % 2),
      category_id: 1,
      bbox: [rng.int(80), rng.int(80), 5 + rng.int(20), 5 + rng.int(20)] as [
        number,
        number,
        number,
        number,
      ],
      area: 200,
      iscrowd: 0,
    })),
  };
  const results = Array.from({ length: 260 }, () => ({
    image_id: 1 + rng.int(2),
    category_id: 1,
    bbox: [rng.int(80), rng.int(80), 5 + rng.int(20), 5 + rng.int(20)] as [
      number,
      number,
      number,
      number,
    ],
    score: Math.round(rng.next() * 50) / 50,
  }));
  const want = reference(gt, results);
  const got = evaluateCoco(gt, results).stats;
  got.forEach((v, s) =>
    assert.ok(Math.abs(v - want[s]) < 1e-6, `stat ${s}: ${v} vs ${want[s]}`)
  );
  assert.ok(want[0] > 0, "non-trivial case");
});
