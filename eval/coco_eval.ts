/**
 * COCO bbox evaluation with pycocotools `COCOeval` semantics (SPEC §8):
 * `evaluateCoco(gt, results)` returns the 12 summary numbers, named, plus
 * per-category AP and the full precision/recall tables. Results go through
 * the equivalent of `loadRes` (area = w·h, never crowd); results on images
 * absent from the ground truth are an error as in pycocotools, unless
 * `unknownImages: "ignore"`.
 */
import {
  accumulate,
  type Accumulated,
  summarize,
  SUMMARY_SPECS,
} from "./coco_accumulate.ts";
import type { CocoDataset, CocoResult } from "./coco_format.ts";
import { groupData, matchGroups } from "./coco_match.ts";
import { type CocoEvalParams, defaultCocoParams } from "./coco_params.ts";

/** Names of the 12 summary numbers, in pycocotools `stats` order. */
export const COCO_METRIC_NAMES = [
  "AP",
  "AP50",
  "AP75",
  "APs",
  "APm",
  "APl",
  "AR1",
  "AR10",
  "AR100",
  "ARs",
  "ARm",
  "ARl",
] as const;

/** One of the 12 summary names. */
export type CocoMetricName = typeof COCO_METRIC_NAMES[number];

/** The 12 summary numbers by name (fractions, −1 where undefined). */
export type CocoMetrics = Record<CocoMetricName, number>;

/** AP of one category. */
export interface CocoCategoryAP {
  /** COCO category id. */
  categoryId: number;
  /** Category name. */
  name: string;
  /** AP @[.50:.95], all areas, 100 detections (−1 without ground truth). */
  AP: number;
  /** AP @ IoU .50. */
  AP50: number;
  /** AP @ IoU .75. */
  AP75: number;
}

/** Everything `evaluateCoco` returns. */
export interface CocoEvalResult {
  /** The 12 numbers in pycocotools order. */
  stats: number[];
  /** The same, by name. */
  metrics: CocoMetrics;
  /** Per-category AP, in ascending category id order. */
  perCategory: CocoCategoryAP[];
  /** Precision/recall tables (pycocotools `eval["precision"]`, `eval["recall"]`). */
  tables: Accumulated;
  /** Parameters used. */
  params: CocoEvalParams;
  /** Detections evaluated (after dropping unknown images or categories). */
  numDetections: number;
}

/** Options of `evaluateCoco`. */
export interface CocoEvalOptions {
  /** Overrides of the pycocotools defaults. */
  params?: Partial<CocoEvalParams>;
  /** Results on images absent from the gt: "error" (pycocotools) or "ignore". */
  unknownImages?: "error" | "ignore";
  /** Name of the results source, for error messages. */
  resultsFile?: string;
}

/** Evaluates bbox `results` against `gt` exactly as pycocotools COCOeval does. */
export function evaluateCoco(
  gt: CocoDataset,
  results: readonly CocoResult[],
  opts: CocoEvalOptions = {},
): CocoEvalResult {
  const params: CocoEvalParams = { ...defaultCocoParams(), ...opts.params };
  params.maxDets = [...params.maxDets].sort((a, b) => a - b);
  const known = new Set(gt.images.map((im) => im.id));
  let dts = results;
  const stray = results.find((r) => !known.has(r.image_id));
  if (stray !== undefined) {
    if ((opts.unknownImages ?? "error") === "error") {
      throw new Error(
        `${
          opts.resultsFile ?? "results"
        }: detections reference image_id ${stray.image_id}, ` +
          `which is not in the ground truth (results do not correspond to the gt set)`,
      );
    }
    dts = results.filter((r) => known.has(r.image_id));
  }
  const data = groupData(gt, dts, params.maxDets[params.maxDets.length - 1]);
  const match = matchGroups(data, params);
  const tables = accumulate(data, match, params);
  const stats = SUMMARY_SPECS.map((s) => summarize(tables, params, s));
  const metrics = Object.fromEntries(
    COCO_METRIC_NAMES.map((n, i) => [n, stats[i]]),
  ) as CocoMetrics;
  const names = new Map(gt.categories.map((c) => [c.id, c.name]));
  const perCategory = data.catIds.map((id, k): CocoCategoryAP => ({
    categoryId: id,
    name: names.get(id) ?? String(id),
    AP: summarize(tables, params, SUMMARY_SPECS[0], [k]),
    AP50: summarize(tables, params, SUMMARY_SPECS[1], [k]),
    AP75: summarize(tables, params, SUMMARY_SPECS[2], [k]),
  }));
  return {
    stats,
    metrics,
    perCategory,
    tables,
    params,
    numDetections: data.dtScore.length,
  };
}

/** The pycocotools `summarize()` printout: 12 lines, 3 decimals. */
export function formatCocoSummary(stats: readonly number[]): string {
  return SUMMARY_SPECS.map((s, i) => {
    const title = s.ap ? "Average Precision" : "Average Recall";
    const type = s.ap ? "(AP)" : "(AR)";
    const iou = s.iouThr === undefined ? "0.50:0.95" : s.iouThr.toFixed(2);
    return ` ${title.padEnd(18)} ${type} @[ IoU=${iou.padEnd(9)} | area=${
      s.areaRng.padStart(6)
    } | maxDets=${String(s.maxDets).padStart(3)} ] = ${stats[i].toFixed(3)}`;
  }).join("\n");
}
