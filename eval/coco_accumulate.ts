/**
 * The "accumulate" and "summarize" halves of COCOeval: per category, area
 * range and max-detections setting, detections of all images are ranked by
 * score (stable, image order then within-image order for ties), cumulative
 * TP/FP give precision and recall, precision is made monotone from the right
 * and read at the 101 recall thresholds with searchsorted 'left'. Settings
 * without non-ignored ground truth stay −1 and are left out of the means.
 */
import type { CocoEvalParams } from "./coco_params.ts";
import {
  evalDims,
  type GroupedData,
  IGNORED,
  type MatchResult,
  TP,
} from "./coco_match.ts";
import { argsortDescStable } from "./sort.ts";

/** Precision `[T][R][K][A][M]` and recall `[T][K][A][M]`, row-major, −1 where undefined. */
export interface Accumulated {
  /** Interpolated precision at each recall threshold. */
  precision: Float64Array;
  /** Final recall. */
  recall: Float64Array;
  /** Dimensions. */
  counts: { T: number; R: number; K: number; A: number; M: number };
}

// numpy's np.spacing(1): the epsilon added to the precision denominator.
const EPS = 2.220446049250313e-16;

/** Builds precision/recall tables from the matching outcome. */
export function accumulate(
  data: GroupedData,
  match: MatchResult,
  params: CocoEvalParams,
): Accumulated {
  const { I, K, T, R, A, M, N } = evalDims(data, params);
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  // Detections are laid out by category, then image, then rank, so a stable
  // score sort of the whole layout, split by category, is the per-category
  // order of pycocotools' concatenate-then-mergesort.
  const order = argsortDescStable(data.dtScore);
  const catOf = new Int32Array(N);
  for (let k = 0; k < K; k++) {
    catOf.fill(k, data.dtStart[k * I], data.dtStart[(k + 1) * I]);
  }
  const catStart = new Int32Array(K + 1);
  for (let n = 0; n < N; n++) catStart[catOf[n] + 1]++;
  for (let k = 0; k < K; k++) catStart[k + 1] += catStart[k];
  const fill = catStart.slice(0, K);
  const byCat = new Int32Array(N);
  for (let n = 0; n < N; n++) byCat[fill[catOf[order[n]]]++] = order[n];

  const sel = new Int32Array(N);
  const pr = new Float64Array(N);
  const rc = new Float64Array(N);
  for (let k = 0; k < K; k++) {
    for (let m = 0; m < M; m++) {
      const maxDet = params.maxDets[m];
      let nd = 0;
      for (let n = catStart[k]; n < catStart[k + 1]; n++) {
        if (data.dtRank[byCat[n]] < maxDet) sel[nd++] = byCat[n];
      }
      for (let a = 0; a < A; a++) {
        const npig = match.npig[k * A + a];
        if (npig === 0) continue;
        for (let t = 0; t < T; t++) {
          const base = (a * T + t) * N;
          let tp = 0, fp = 0;
          for (let j = 0; j < nd; j++) {
            const s = match.state[base + sel[j]];
            if (s === TP) tp++;
            else if (s !== IGNORED) fp++;
            rc[j] = tp / npig;
            pr[j] = tp / (fp + tp + EPS);
          }
          recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1] : 0;
          for (let j = nd - 1; j > 0; j--) {
            if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
          }
          // searchsorted(rc, recThrs, 'left'): first j with rc[j] >= thr.
          let j = 0;
          for (let r = 0; r < R; r++) {
            const thr = params.recThrs[r];
            while (j < nd && rc[j] < thr) j++;
            const at = (((t * R + r) * K + k) * A + a) * M + m;
            precision[at] = j < nd ? pr[j] : 0;
          }
        }
      }
    }
  }
  return { precision, recall, counts: { T, R, K, A, M } };
}

/** Mean of the entries > −1 of `values` at the given flat indices, or −1 if none. */
function meanValid(values: Float64Array, indices: Iterable<number>): number {
  let sum = 0, n = 0;
  for (const i of indices) {
    if (values[i] > -1) {
      sum += values[i];
      n++;
    }
  }
  return n === 0 ? -1 : sum / n;
}

/** Selection for one summary number (pycocotools `_summarize`). */
export interface SummarySpec {
  /** true: average precision; false: average recall. */
  ap: boolean;
  /** Single IoU threshold, or undefined for all. */
  iouThr?: number;
  /** Area range label. */
  areaRng: string;
  /** Max detections. */
  maxDets: number;
}

/** The 12 standard COCO summary settings, in `stats` order. */
export const SUMMARY_SPECS: readonly SummarySpec[] = [
  { ap: true, areaRng: "all", maxDets: 100 },
  { ap: true, iouThr: 0.5, areaRng: "all", maxDets: 100 },
  { ap: true, iouThr: 0.75, areaRng: "all", maxDets: 100 },
  { ap: true, areaRng: "small", maxDets: 100 },
  { ap: true, areaRng: "medium", maxDets: 100 },
  { ap: true, areaRng: "large", maxDets: 100 },
  { ap: false, areaRng: "all", maxDets: 1 },
  { ap: false, areaRng: "all", maxDets: 10 },
  { ap: false, areaRng: "all", maxDets: 100 },
  { ap: false, areaRng: "small", maxDets: 100 },
  { ap: false, areaRng: "medium", maxDets: 100 },
  { ap: false, areaRng: "large", maxDets: 100 },
];

/**
 * One summary number; `cats` restricts to category indices (per-category
 * AP). Thresholds are selected by exact equality, like `np.where`.
 */
export function summarize(
  acc: Accumulated,
  params: CocoEvalParams,
  spec: SummarySpec,
  cats?: number[],
): number {
  const { T, R, K, A, M } = acc.counts;
  const ts = [...Array(T).keys()].filter((t) =>
    spec.iouThr === undefined || params.iouThrs[t] === spec.iouThr
  );
  const as = [...Array(A).keys()].filter((a) =>
    params.areaRngLbl[a] === spec.areaRng
  );
  const ms = [...Array(M).keys()].filter((m) =>
    params.maxDets[m] === spec.maxDets
  );
  const ks = cats ?? [...Array(K).keys()];
  const idx: number[] = [];
  for (const t of ts) {
    for (const k of ks) {
      for (const a of as) {
        for (const m of ms) {
          if (spec.ap) {
            for (let r = 0; r < R; r++) {
              idx.push((((t * R + r) * K + k) * A + a) * M + m);
            }
          } else idx.push(((t * K + k) * A + a) * M + m);
        }
      }
    }
  }
  return meanValid(spec.ap ? acc.precision : acc.recall, idx);
}
