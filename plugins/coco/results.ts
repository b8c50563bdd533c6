/**
 * Detections to the COCO results format (`[x, y, w, h]` boxes, COCO category
 * ids) and an atomic writer, so a crash mid-write never leaves a truncated
 * results file that a later evaluation would silently read.
 */
import type { CocoResult } from "../../eval/coco_format.ts";
import { writeJsonAtomic } from "../../core/fs.ts";
import type { Prediction } from "../../core/types.ts";

/** Anything that maps contiguous labels to COCO category ids. */
export interface LabelToCategory {
  /** COCO category id of a label. */
  toCategoryId(label: number): number;
}

/**
 * Converts predictions (boxes `[x1, y1, x2, y2]` in source pixels, numeric
 * image ids) to COCO results. Coordinates are rounded to 1/100 px, as the
 * official detection writers do, to keep files small.
 */
export function toCocoResults(
  predictions: readonly Prediction[],
  categories: LabelToCategory,
): CocoResult[] {
  const out: CocoResult[] = [];
  const r2 = (v: number) => Math.round(v * 100) / 100;
  for (const p of predictions) {
    if (typeof p.id !== "number") {
      throw new Error(
        `prediction id ${JSON.stringify(p.id)} is not a COCO image id (number)`,
      );
    }
    for (const d of p.detections ?? []) {
      const [x1, y1, x2, y2] = d.box;
      out.push({
        image_id: p.id,
        category_id: categories.toCategoryId(d.label),
        bbox: [r2(x1), r2(y1), r2(x2 - x1), r2(y2 - y1)],
        score: Math.round(d.score * 1e5) / 1e5,
      });
    }
  }
  return out;
}

/** Writes COCO results to `path` atomically (temp file + rename). */
export async function writeCocoResults(
  path: string,
  results: readonly CocoResult[],
): Promise<void> {
  await writeJsonAtomic(path, results, true);
}
