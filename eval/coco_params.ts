/**
 * COCOeval parameters (iouType bbox) with pycocotools' exact values: the
 * thresholds are built the way `np.linspace` builds them (`i * step +
 * start`, last element set to `stop`) so comparisons against them agree to
 * the last bit.
 */

/** Evaluation settings. */
export interface CocoEvalParams {
  /** IoU thresholds (T). */
  iouThrs: Float64Array;
  /** Recall thresholds (R). */
  recThrs: Float64Array;
  /** Area ranges `[lo, hi]`, inclusive both ends (A). */
  areaRng: [number, number][];
  /** Names of the area ranges. */
  areaRngLbl: string[];
  /** Max detections per image, ascending (M). */
  maxDets: number[];
}

/** `np.linspace(start, stop, num)` with numpy's arithmetic. */
export function linspace(
  start: number,
  stop: number,
  num: number,
): Float64Array {
  const out = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  if (num > 1) out[num - 1] = stop;
  return out;
}

/** The pycocotools defaults for bbox evaluation. */
export function defaultCocoParams(): CocoEvalParams {
  return {
    iouThrs: linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1),
    recThrs: linspace(0, 1, Math.round((1 - 0) / 0.01) + 1),
    areaRng: [[0, 1e5 ** 2], [0, 32 ** 2], [32 ** 2, 96 ** 2], [
      96 ** 2,
      1e5 ** 2,
    ]],
    areaRngLbl: ["all", "small", "medium", "large"],
    maxDets: [1, 10, 100],
  };
}
