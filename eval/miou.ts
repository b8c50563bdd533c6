/**
 * Semantic segmentation metrics from one confusion matrix accumulated over
 * the whole set (SPEC §7, the PASCAL VOC protocol): per-class IoU =
 * TP / (TP + FP + FN), mean IoU over the classes that occur in ground truth
 * or prediction, and pixel accuracy. Ground-truth pixels labelled 255 are
 * ignored.
 */
import { IGNORE_LABEL } from "../core/types.ts";

/** Metrics of a confusion matrix. */
export interface SegmentationMetrics {
  /** Mean IoU over classes with a non-empty union. */
  mIoU: number;
  /** IoU per class; `null` where a class is in neither GT nor prediction. */
  IoU: (number | null)[];
  /** Correct pixels / labelled pixels. */
  pixelAccuracy: number;
}

/** `classes × classes` counts, rows = ground truth, columns = prediction. */
export class ConfusionMatrix {
  /** Number of classes. */
  readonly classes: number;
  /** Row-major counts. */
  readonly counts: Float64Array;

  /** An empty matrix for `classes` classes. */
  constructor(classes: number) {
    if (!Number.isInteger(classes) || classes < 1 || classes > IGNORE_LABEL) {
      throw new Error(
        `confusion matrix: classes must be 1..255, got ${classes}`,
      );
    }
    this.classes = classes;
    this.counts = new Float64Array(classes * classes);
  }

  /**
   * Adds one image. `gt` and `pred` are class indices of equal length; GT
   * 255 is skipped. An index ≥ `classes` elsewhere is an error naming `what`.
   */
  add(gt: Uint8Array, pred: Uint8Array, what = "image"): void {
    if (gt.length !== pred.length) {
      throw new Error(
        `${what}: prediction has ${pred.length} pixels, ground truth ${gt.length}`,
      );
    }
    const c = this.classes;
    for (let i = 0; i < gt.length; i++) {
      const g = gt[i];
      if (g === IGNORE_LABEL) continue;
      const p = pred[i];
      if (g >= c || p >= c) {
        throw new Error(
          `${what}: class index ${
            g >= c ? g : p
          } out of range (${c} classes) in ${
            g >= c ? "ground truth" : "prediction"
          }`,
        );
      }
      this.counts[g * c + p]++;
    }
  }

  /** IoU per class, mean IoU and pixel accuracy. */
  metrics(): SegmentationMetrics {
    const c = this.classes;
    const IoU: (number | null)[] = [];
    let correct = 0, total = 0, sum = 0, defined = 0;
    for (let k = 0; k < c; k++) {
      let row = 0, col = 0;
      for (let j = 0; j < c; j++) {
        row += this.counts[k * c + j];
        col += this.counts[j * c + k];
      }
      const tp = this.counts[k * c + k];
      const union = row + col - tp;
      correct += tp;
      total += row;
      if (union > 0) {
        IoU.push(tp / union);
        sum += tp / union;
        defined++;
      } else IoU.push(null);
    }
    return {
      mIoU: defined ? sum / defined : 0,
      IoU,
      pixelAccuracy: total ? correct / total : 0,
    };
  }
}
