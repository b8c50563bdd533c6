/**
 * Detections drawn on images: the sample predictions a run leaves in
 * `<out>/samples/` for the status dashboard, and the drawing shared with
 * `deno task predict`. Boxes are drawn on the original-resolution image
 * (the source file when the sample names one, else the letterbox undone),
 * since predictions are in source pixels and a 128-px model input is too
 * small to read.
 */
import { sequentialBatches } from "../core/data/loader.ts";
import { writeImage } from "../image/codec.ts";
import { sampleFileStem, sourceImage } from "../image/source_image.ts";
import { colorFor, drawBox } from "../image/draw.ts";
import type { TaskModel } from "../core/model.ts";
import type { Dataset, Detection, RawImage } from "../core/types.ts";

/** Default score threshold of drawn detections. */
export const SAMPLE_MIN_SCORE = 0.3;

/**
 * Draws detections with `score >= minScore` on `image` in place: a box in
 * the class colour with a `"name 0.87"` caption. Lines and text grow with
 * the image so they stay legible. Returns how many were drawn.
 */
export function drawDetections(
  image: RawImage,
  detections: readonly Detection[],
  classNames: readonly string[],
  minScore: number = SAMPLE_MIN_SCORE,
): number {
  const scale = Math.max(
    1,
    Math.round(Math.min(image.width, image.height) / 320),
  );
  let drawn = 0;
  // Lowest score first, so the most confident boxes end up on top.
  const kept = detections.filter((d) => d.score >= minScore)
    .sort((a, b) => a.score - b.score);
  for (const d of kept) {
    drawBox(image, d.box, {
      color: colorFor(d.label),
      thickness: 2 * scale,
      textScale: scale,
      label: `${classNames[d.label] ?? d.label} ${d.score.toFixed(2)}`,
    });
    drawn++;
  }
  return drawn;
}

/** Options of `writeSampleImages`. */
export interface SampleImageOptions {
  /** File name prefix, usually the phase (`train_<id>.jpg`). */
  prefix?: string;
  /** Score threshold of drawn detections (default 0.3). */
  minScore?: number;
  /** `jpg` (default, small) or `png` (lossless). */
  format?: "jpg" | "png";
}

/**
 * Predicts the first `count` samples of `data` (inference mode), draws the
 * detections on the original-resolution images and writes them atomically
 * into `dir` as `<prefix>_<id>.jpg`. Returns the paths written.
 */
export async function writeSampleImages(
  model: TaskModel,
  data: Dataset,
  classNames: readonly string[],
  dir: string,
  count = 8,
  options: SampleImageOptions = {},
): Promise<string[]> {
  const n = Math.min(Math.max(0, Math.floor(count)), data.size);
  if (n === 0) return [];
  await Deno.mkdir(dir, { recursive: true });
  const prefix = options.prefix ? `${options.prefix}_` : "";
  const ext = options.format ?? "jpg";
  const indices = Array.from({ length: n }, (_, i) => i);
  const written: string[] = [];
  for await (const batch of sequentialBatches(data, n, undefined, indices)) {
    try {
      const preds = await model.predict(batch.images, batch.samples);
      for (let i = 0; i < preds.length; i++) {
        const image = await sourceImage(batch.samples[i]);
        drawDetections(
          image,
          preds[i].detections ?? [],
          classNames,
          options.minScore ?? SAMPLE_MIN_SCORE,
        );
        const path = `${dir}/${prefix}${sampleFileStem(preds[i].id)}.${ext}`;
        await writeImage(path, image);
        written.push(path);
      }
    } finally {
      batch.images.dispose();
    }
  }
  return written;
}

export { sampleFileStem, sourceImage } from "../image/source_image.ts";
