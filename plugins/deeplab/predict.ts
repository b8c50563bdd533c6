/**
 * Between samples and segmentation tensors: masks → label tensors for
 * training, and logits → per-pixel probabilities and argmax masks in
 * source-image pixels (the letterbox padding cropped off, then resized).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Prediction, Sample } from "../../core/types.ts";
import { IGNORE_LABEL } from "../../core/types.ts";
import { argmaxMask } from "../labelers/hard_segmentation.ts";

/** Stacks the samples' masks into `[N, H, W]` int32 (missing mask: all ignored). */
export function encodeMasks(samples: readonly Sample[]): tf.Tensor3D {
  const { width, height } = samples[0].image;
  const plane = width * height;
  const out = new Int32Array(samples.length * plane).fill(IGNORE_LABEL);
  samples.forEach((s, i) => {
    if (s.image.width !== width || s.image.height !== height) {
      throw new Error(
        `segmentation targets: sample ${s.id} is ${s.image.width}x${s.image.height}, batch is ${width}x${height}`,
      );
    }
    if (!s.mask) return;
    if (s.mask.length !== plane) {
      throw new Error(
        `segmentation targets: sample ${s.id} mask has ${s.mask.length} pixels, image ${plane}`,
      );
    }
    out.set(s.mask, i * plane);
  });
  return tf.tensor3d(out, [samples.length, height, width], "int32");
}

/** Size of a letterboxed sample's content and of its source image. */
export function sourceGeometry(s: Sample): {
  contentWidth: number;
  contentHeight: number;
  width: number;
  height: number;
} {
  const { width: W, height: H } = s.image;
  const m = s.meta;
  if (!m) return { contentWidth: W, contentHeight: H, width: W, height: H };
  return {
    contentWidth: Math.max(1, Math.min(W, Math.round(m.sourceWidth * m.scale))),
    contentHeight: Math.max(
      1,
      Math.min(H, Math.round(m.sourceHeight * m.scale)),
    ),
    width: m.sourceWidth,
    height: m.sourceHeight,
  };
}

/**
 * Softmax of `[N, H, W, C]` logits, each sample's letterboxed content
 * resized (bilinear, half-pixel centres) to its source size.
 */
export async function probsToPredictions(
  logits: tf.Tensor4D,
  samples: readonly Sample[],
): Promise<Prediction[]> {
  const classes = logits.shape[3];
  const preds: Prediction[] = [];
  for (let i = 0; i < samples.length; i++) {
    const g = sourceGeometry(samples[i]);
    const t = tf.tidy(() => {
      const p = tf.softmax(
        tf.slice(logits, [i, 0, 0, 0], [
          1,
          g.contentHeight,
          g.contentWidth,
          classes,
        ]),
      ) as tf.Tensor4D;
      return g.width === g.contentWidth && g.height === g.contentHeight
        ? p
        : tf.image.resizeBilinear(p, [g.height, g.width], false, true);
    });
    const probs = (await t.data()) as Float32Array;
    t.dispose();
    preds.push({
      id: samples[i].id,
      probs,
      mask: argmaxMask(probs, classes, 0),
      width: g.width,
      height: g.height,
    });
  }
  return preds;
}
