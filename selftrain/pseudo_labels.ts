/**
 * `PseudoLabels` (core/contracts.ts) are in source-image pixels from the
 * labeler to the store to the dataset; this is the one place they become a
 * sample's targets, in the sample's pixels.
 */
import type { PseudoLabels } from "../core/contracts.ts";
import type { Detection, Sample } from "../core/types.ts";

/** Pseudo-labels with no box and no mask for an image of the given size. */
export function emptyPseudoLabels(
  id: number | string,
  width: number,
  height: number,
): PseudoLabels {
  return {
    id,
    width,
    height,
    boxes: new Float32Array(0),
    scores: new Float32Array(0),
    classes: new Int32Array(0),
    ignore: new Uint8Array(0),
  };
}

/**
 * Pseudo-labels from detections in source pixels (e.g. for a labeler of
 * one's own); `ignore[i]` marks detection `i` as an ignore region.
 */
export function pseudoLabelsFromDetections(
  image: { id: number | string; width: number; height: number },
  detections: readonly Detection[],
  ignore: readonly boolean[] = [],
): PseudoLabels {
  return {
    ...image,
    boxes: Float32Array.from(detections.flatMap((d) => d.box)),
    scores: Float32Array.from(detections, (d) => d.score),
    classes: Int32Array.from(detections, (d) => d.label),
    ignore: Uint8Array.from(detections, (_, i) => ignore[i] ? 1 : 0),
  };
}

/** Source-image size of a sample (its own size when it has no `meta`). */
export function sourceSize(sample: Sample): { width: number; height: number } {
  return {
    width: sample.meta?.sourceWidth ?? sample.image.width,
    height: sample.meta?.sourceHeight ?? sample.image.height,
  };
}

/**
 * `box` times `scale`, clipped to `width × height`; `null` when nothing of
 * it is left inside.
 */
export function clipBox(
  box: ArrayLike<number>,
  width: number,
  height: number,
  scale = 1,
): [number, number, number, number] | null {
  const x1 = Math.min(Math.max(box[0] * scale, 0), width);
  const y1 = Math.min(Math.max(box[1] * scale, 0), height);
  const x2 = Math.min(Math.max(box[2] * scale, 0), width);
  const y2 = Math.min(Math.max(box[3] * scale, 0), height);
  return x2 > x1 && y2 > y1 ? [x1, y1, x2, y2] : null;
}

/**
 * `sample` with `labels` as its only targets: boxes scaled by
 * `sample.meta.scale` and clipped to the sample image (boxes with nothing
 * left are dropped), the mask as is (it must already be in the sample's
 * geometry: pseudo masks are made at source size and samples are loaded at
 * source size, then augmented together).
 */
export function pseudoLabelledSample(
  sample: Sample,
  labels: PseudoLabels,
): Sample {
  const {
    boxes: _b,
    labels: _l,
    crowd: _c,
    scores: _s,
    mask: _m,
    label: _y,
    soft: _p,
    ...rest
  } = sample;
  const out: Sample = { ...rest, pseudo: true };
  if (labels.mask) {
    const { width, height } = sample.image;
    if (labels.mask.length !== width * height) {
      throw new Error(
        `pseudo mask of image ${labels.id} has ${labels.mask.length} pixels, the image is ${width}x${height}`,
      );
    }
    out.mask = labels.mask;
  }
  const n = labels.classes.length;
  if (n === 0 && labels.mask) return out;
  const s = sample.meta?.scale ?? 1;
  const { width, height } = sample.image;
  const keep: number[] = [];
  const boxes: number[] = [];
  for (let k = 0; k < n; k++) {
    const box = clipBox(
      labels.boxes.subarray(4 * k, 4 * k + 4),
      width,
      height,
      s,
    );
    if (!box) continue;
    keep.push(k);
    boxes.push(...box);
  }
  out.boxes = Float32Array.from(boxes);
  out.labels = Int32Array.from(keep, (k) => labels.classes[k]);
  out.scores = Float32Array.from(keep, (k) => labels.scores[k]);
  out.crowd = Uint8Array.from(keep, (k) => labels.ignore[k]);
  return out;
}
