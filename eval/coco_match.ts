/**
 * The "evaluate" half of COCOeval: ground truth and detections grouped per
 * (category, image) into flat typed arrays, then per group the bbox IoUs and
 * pycocotools' greedy matching at every IoU threshold and area range. The
 * result is one byte per (area range, threshold, detection): true positive,
 * false positive or ignored; plus the count of non-ignored ground truth.
 */
import type { CocoDataset, CocoResult } from "./coco_format.ts";
import type { CocoEvalParams } from "./coco_params.ts";
import { argsortDescStable } from "./sort.ts";

/** Detection outcome codes stored by `matchGroups`. */
export const FP = 0, TP = 1, IGNORED = 2;

/** Ground truth and detections grouped by `k * numImages + i`. */
export interface GroupedData {
  /** Sorted unique image ids. */
  imgIds: number[];
  /** Sorted unique category ids. */
  catIds: number[];
  /** Group offsets into the gt arrays (length K*I + 1). */
  gtStart: Int32Array;
  /** Gt boxes x, y, w, h (4 per gt), file order within a group. */
  gtBox: Float64Array;
  /** Gt `area` field. */
  gtArea: Float64Array;
  /** Gt iscrowd flag. */
  gtCrowd: Uint8Array;
  /** 1 where the gt id is 0 (pycocotools then reads its matches as misses). */
  gtIdZero: Uint8Array;
  /** Group offsets into the detection arrays. */
  dtStart: Int32Array;
  /** Detection boxes, score-descending within a group, at most maxDet per group. */
  dtBox: Float64Array;
  /** Detection scores. */
  dtScore: Float64Array;
  /** Position of each detection within its group (0 = highest score). */
  dtRank: Int32Array;
}

function sortedUnique(values: number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

// Element-wise copy: TypedArray.set from a plain array is slow per call.
function copyBox(box: readonly number[], out: Float64Array, j: number): void {
  out[4 * j] = box[0];
  out[4 * j + 1] = box[1];
  out[4 * j + 2] = box[2];
  out[4 * j + 3] = box[3];
}

/** Stable counting sort of `n` items by integer key: returns the permutation and group offsets. */
function groupBy(keys: Int32Array, groups: number): [Int32Array, Int32Array] {
  const start = new Int32Array(groups + 1);
  for (let i = 0; i < keys.length; i++) start[keys[i] + 1]++;
  for (let g = 0; g < groups; g++) start[g + 1] += start[g];
  const fill = start.slice(0, groups);
  const perm = new Int32Array(keys.length);
  for (let i = 0; i < keys.length; i++) perm[fill[keys[i]]++] = i;
  return [perm, start];
}

/**
 * Groups `gt` and `results` like pycocotools' `_prepare` plus `loadRes`:
 * annotations and results outside the gt images or categories are left out,
 * detections are sorted by score (stable) within each group and cut to
 * `maxDet`.
 */
export function groupData(
  gt: CocoDataset,
  results: readonly CocoResult[],
  maxDet: number,
): GroupedData {
  const imgIds = sortedUnique(gt.images.map((im) => im.id));
  const catIds = sortedUnique(gt.categories.map((c) => c.id));
  const I = imgIds.length;
  const groups = catIds.length * I;
  const imgIndex = new Map(imgIds.map((id, i) => [id, i]));
  const catIndex = new Map(catIds.map((id, k) => [id, k]));
  const keyOf = (imageId: number, catId: number): number => {
    const i = imgIndex.get(imageId);
    const k = catIndex.get(catId);
    return i === undefined || k === undefined ? -1 : k * I + i;
  };

  const anns = gt.annotations.filter((a) =>
    keyOf(a.image_id, a.category_id) >= 0
  );
  const gtKeys = Int32Array.from(anns, (a) => keyOf(a.image_id, a.category_id));
  const [gtPerm, gtStart] = groupBy(gtKeys, groups);
  const nG = anns.length;
  const gtBox = new Float64Array(4 * nG);
  const gtArea = new Float64Array(nG);
  const gtCrowd = new Uint8Array(nG);
  const gtIdZero = new Uint8Array(nG);
  for (let j = 0; j < nG; j++) {
    const a = anns[gtPerm[j]];
    copyBox(a.bbox, gtBox, j);
    gtArea[j] = a.area;
    gtCrowd[j] = a.iscrowd ? 1 : 0;
    gtIdZero[j] = a.id === 0 ? 1 : 0;
  }

  // Score order first (ties keep file order), then a stable regroup: within
  // each group detections end up score-descending, ties in file order.
  const dts = results.filter((r) => keyOf(r.image_id, r.category_id) >= 0);
  const byScore = argsortDescStable(dts.map((r) => r.score));
  const dtKeys = Int32Array.from(
    byScore,
    (s) => keyOf(dts[s].image_id, dts[s].category_id),
  );
  const [dtPerm, fullStart] = groupBy(dtKeys, groups);
  const dtStart = new Int32Array(groups + 1);
  for (let g = 0; g < groups; g++) {
    dtStart[g + 1] = dtStart[g] +
      Math.min(maxDet, fullStart[g + 1] - fullStart[g]);
  }
  const nD = dtStart[groups];
  const dtBox = new Float64Array(4 * nD);
  const dtScore = new Float64Array(nD);
  const dtRank = new Int32Array(nD);
  for (let g = 0; g < groups; g++) {
    for (let j = dtStart[g], r = 0; j < dtStart[g + 1]; j++, r++) {
      const d = dts[byScore[dtPerm[fullStart[g] + r]]];
      copyBox(d.bbox, dtBox, j);
      dtScore[j] = d.score;
      dtRank[j] = r;
    }
  }
  return {
    imgIds,
    catIds,
    gtStart,
    gtBox,
    gtArea,
    gtCrowd,
    gtIdZero,
    dtStart,
    dtBox,
    dtScore,
    dtRank,
  };
}

/** Outcome of the matching pass. */
export interface MatchResult {
  /** Outcome per (area range a, threshold t, detection d) at `(a*T + t)*N + d`. */
  state: Uint8Array;
  /** Non-ignored gt count per (category k, area range a) at `k*A + a`. */
  npig: Float64Array;
}

/** The array sizes of an evaluation, named as in pycocotools. */
export interface EvalDims {
  /** Images. */
  I: number;
  /** Categories. */
  K: number;
  /** IoU thresholds. */
  T: number;
  /** Recall thresholds. */
  R: number;
  /** Area ranges. */
  A: number;
  /** Max-detection settings. */
  M: number;
  /** Detections. */
  N: number;
}

/** The sizes of evaluating `data` with `params`. */
export function evalDims(data: GroupedData, params: CocoEvalParams): EvalDims {
  return {
    I: data.imgIds.length,
    K: data.catIds.length,
    T: params.iouThrs.length,
    R: params.recThrs.length,
    A: params.areaRng.length,
    M: params.maxDets.length,
    N: data.dtScore.length,
  };
}

/**
 * Overlap along one axis of a detection starting at `a`, `aLen` long, and the
 * gt box of [x, y, w, h] `b` whose start on that axis is `b[j]` (its length
 * `b[j + 2]`), in `bbIou`'s order of operations.
 */
function overlap(
  a: number,
  aLen: number,
  b: Float64Array,
  j: number,
): number {
  return Math.min(aLen + a, b[j + 2] + b[j]) - Math.max(a, b[j]);
}

/** bbox IoU as pycocotools' `bbIou` computes it (crowd: over detection area). */
function computeIous(
  data: GroupedData,
  d0: number,
  D: number,
  g0: number,
  G: number,
  out: Float64Array,
): void {
  const { dtBox, gtBox, gtCrowd } = data;
  for (let d = 0; d < D; d++) {
    const o = 4 * (d0 + d);
    const dx = dtBox[o],
      dy = dtBox[o + 1],
      dw = dtBox[o + 2],
      dh = dtBox[o + 3];
    const da = dw * dh;
    for (let g = 0; g < G; g++) {
      const q = 4 * (g0 + g);
      let iou = 0;
      const w = overlap(dx, dw, gtBox, q);
      if (w > 0) {
        const h = overlap(dy, dh, gtBox, q + 1);
        if (h > 0) {
          const inter = w * h;
          const union = gtCrowd[g0 + g]
            ? da
            : da + gtBox[q + 2] * gtBox[q + 3] - inter;
          iou = inter / union;
        }
      }
      out[d * G + g] = iou;
    }
  }
}

/** Outcomes of a group without gt: every detection is a FP unless out of the area range. */
function unmatchedOnly(
  data: GroupedData,
  params: CocoEvalParams,
  d0: number,
  D: number,
  state: Uint8Array,
  N: number,
): void {
  const T = params.iouThrs.length;
  for (let a = 0; a < params.areaRng.length; a++) {
    const [lo, hi] = params.areaRng[a];
    for (let d = d0; d < d0 + D; d++) {
      const area = data.dtBox[4 * d + 2] * data.dtBox[4 * d + 3];
      const s = area < lo || area > hi ? IGNORED : FP;
      for (let t = 0; t < T; t++) state[(a * T + t) * N + d] = s;
    }
  }
}

/** Runs pycocotools' `evaluateImg` for every group and area range. */
export function matchGroups(
  data: GroupedData,
  params: CocoEvalParams,
): MatchResult {
  const { I, K, A, T, N } = evalDims(data, params);
  const state = new Uint8Array(A * T * N);
  const npig = new Float64Array(K * A);
  const { gtStart, dtStart, gtArea, gtCrowd, gtIdZero, dtBox } = data;
  let ious = new Float64Array(1024);
  let order = new Int32Array(64);
  let gtIg = new Uint8Array(64);
  let taken = new Uint8Array(64);
  for (let k = 0; k < K; k++) {
    for (let i = 0; i < I; i++) {
      const grp = k * I + i;
      const g0 = gtStart[grp], G = gtStart[grp + 1] - g0;
      const d0 = dtStart[grp], D = dtStart[grp + 1] - d0;
      if (G === 0 && D === 0) continue;
      if (G === 0) {
        unmatchedOnly(data, params, d0, D, state, N);
        continue;
      }
      if (D * G > ious.length) ious = new Float64Array(2 * D * G);
      if (G > order.length) {
        order = new Int32Array(2 * G);
        gtIg = new Uint8Array(2 * G);
        taken = new Uint8Array(2 * G);
      }
      computeIous(data, d0, D, g0, G, ious);
      for (let a = 0; a < A; a++) {
        const [lo, hi] = params.areaRng[a];
        // Gt order: not ignored first, then ignored (stable), as pycocotools.
        let n = 0;
        for (let pass = 0; pass < 2; pass++) {
          for (let g = 0; g < G; g++) {
            const area = gtArea[g0 + g];
            const ig = gtCrowd[g0 + g] || area < lo || area > hi ? 1 : 0;
            if (ig === pass) {
              order[n] = g;
              gtIg[n++] = ig;
            }
          }
        }
        let valid = 0;
        for (let n2 = 0; n2 < G; n2++) if (!gtIg[n2]) valid++;
        npig[k * A + a] += valid;
        for (let t = 0; t < T; t++) {
          taken.fill(0, 0, G);
          const base = (a * T + t) * N + d0;
          for (let d = 0; d < D; d++) {
            let best = Math.min(params.iouThrs[t], 1 - 1e-10);
            let m = -1;
            for (let n2 = 0; n2 < G; n2++) {
              const g = order[n2];
              if (taken[n2] && !gtCrowd[g0 + g]) continue;
              if (m > -1 && gtIg[m] === 0 && gtIg[n2] === 1) break;
              const v = ious[d * G + g];
              if (v < best) continue;
              best = v;
              m = n2;
            }
            let s: number;
            const matched = m > -1 && !gtIdZero[g0 + order[m]];
            if (m > -1) taken[m] = 1;
            if (matched) s = gtIg[m] ? IGNORED : TP;
            else {
              // Unmatched (or matched to gt id 0, which pycocotools reads as
              // unmatched): ignored if matched to an ignored gt or out of range.
              const o = 4 * (d0 + d);
              const area = dtBox[o + 2] * dtBox[o + 3];
              s = (m > -1 && gtIg[m]) || area < lo || area > hi ? IGNORED : FP;
            }
            state[base + d] = s;
          }
        }
      }
    }
  }
  return { state, npig };
}
