/**
 * Small box utilities for labelers and teacher test-time augmentation:
 * IoU, greedy class-wise NMS, and source → sample pixel conversion. Boxes are
 * `[x1, y1, x2, y2]` in pixels.
 */
import type { Detection } from "../../core/types.ts";

/** Intersection over union of two `[x1, y1, x2, y2]` boxes (0 when disjoint). */
export function boxIou(
  a: readonly [number, number, number, number],
  b: readonly [number, number, number, number],
): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) -
    inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy non-maximum suppression per class: within each label, a detection is
 * dropped when its IoU with a higher-scoring kept one is above `iou`. Result is
 * sorted by score (descending; ties keep input order) and cut to
 * `maxDetections` when that is > 0.
 */
export function classwiseNms(
  detections: readonly Detection[],
  iou: number,
  maxDetections = 0,
  classAgnostic = false,
): Detection[] {
  const order = detections.map((_, i) => i).sort((i, j) =>
    detections[j].score - detections[i].score || i - j
  );
  const keptByLabel = new Map<number, Detection[]>();
  const kept: Detection[] = [];
  for (const i of order) {
    const d = detections[i];
    // Class-agnostic: one box per object, whatever class it was given.
    const key = classAgnostic ? -1 : d.label;
    const same = keptByLabel.get(key) ?? [];
    if (same.some((k) => boxIou(k.box, d.box) > iou)) continue;
    same.push(d);
    keptByLabel.set(key, same);
    kept.push(d);
    if (maxDetections > 0 && kept.length >= maxDetections) break;
  }
  return kept;
}
