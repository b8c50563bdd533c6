/**
 * Operations on HWC maps (probability maps and images) shared by the
 * segmentation labelers and the teacher's test-time augmentation: bilinear
 * resize, horizontal flip, temperature sharpening, and reading a
 * prediction's probability map at the sample's size.
 */
import type { Prediction } from "../../core/types.ts";

/** Typed arrays an HWC map can be stored in. */
export type HwcArray = Float32Array | Uint8Array;

/**
 * Bilinear resize of an HWC map with half-pixel centres (the convention of
 * `tf.image.resizeBilinear(..., halfPixelCenters=true)`), edge-clamped.
 * Always returns floats; round yourself for images.
 */
export function resizeBilinearHwc(
  data: HwcArray,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
): Float32Array {
  const out = new Float32Array(outWidth * outHeight * channels);
  const sx = width / outWidth;
  const sy = height / outHeight;
  for (let y = 0; y < outHeight; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, height - 1);
    const wy = fy - y0;
    for (let x = 0; x < outWidth; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, width - 1);
      const wx = fx - x0;
      const o = (y * outWidth + x) * channels;
      const a = (y0 * width + x0) * channels;
      const b = (y0 * width + x1) * channels;
      const c = (y1 * width + x0) * channels;
      const d = (y1 * width + x1) * channels;
      for (let k = 0; k < channels; k++) {
        const top = data[a + k] * (1 - wx) + data[b + k] * wx;
        const bottom = data[c + k] * (1 - wx) + data[d + k] * wx;
        out[o + k] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return out;
}

/** Mirrors an HWC map left ↔ right (returns a new array of the same type). */
export function flipHorizontalHwc<T extends HwcArray>(
  data: T,
  width: number,
  height: number,
  channels: number,
): T {
  const out = data.slice() as T;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const src = (y * width + x) * channels;
      const dst = (y * width + (width - 1 - x)) * channels;
      for (let k = 0; k < channels; k++) out[dst + k] = data[src + k];
    }
  }
  return out;
}

/** A per-pixel probability map with its geometry. */
export interface ProbMap {
  /** `height * width * classes` probabilities, HWC. */
  probs: Float32Array;
  /** Map width. */
  width: number;
  /** Map height. */
  height: number;
  /** Classes per pixel. */
  classes: number;
}

/**
 * The per-pixel probability map of a segmentation prediction, resized
 * (bilinear) to `width × height` when the map's size differs. Errors name the
 * labeler and prediction.
 */
export function segmentationProbs(
  labeler: string,
  prediction: Prediction,
  width: number,
  height: number,
): ProbMap {
  const { probs, width: pw, height: ph } = prediction;
  if (!probs || !pw || !ph) {
    throw new Error(
      `labeler ${labeler}: prediction ${prediction.id} needs probs with width and height`,
    );
  }
  const classes = probs.length / (pw * ph);
  if (!Number.isInteger(classes) || classes < 1) {
    throw new Error(
      `labeler ${labeler}: prediction ${prediction.id} probs length ${probs.length} is not a multiple of ${pw}x${ph}`,
    );
  }
  const resized = pw === width && ph === height
    ? probs
    : resizeBilinearHwc(probs, pw, ph, classes, width, height);
  return { probs: resized, width, height, classes };
}
