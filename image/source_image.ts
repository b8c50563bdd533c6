/**
 * A sample's image at source resolution, and a sample id as a file stem:
 * what previews of samples (pseudo-labels, predictions) are drawn on.
 */
import type { RawImage, Sample } from "../core/types.ts";
import { readImage } from "./codec.ts";
import { resizeBilinear } from "./resize.ts";

/**
 * The original-resolution image of a sample: its source file when
 * `meta.file` is set, else the letterboxed `sample.image` cropped to its
 * content and resized back to `meta.sourceWidth × meta.sourceHeight`.
 */
export async function sourceImage(sample: Sample): Promise<RawImage> {
  const meta = sample.meta;
  if (meta?.file) return await readImage(meta.file);
  const img = sample.image;
  if (!meta) return { ...img, data: img.data.slice() };
  // Same rounding as `letterbox`, so the crop is exactly its content.
  const cw = Math.max(
    1,
    Math.min(img.width, Math.round(meta.sourceWidth * meta.scale)),
  );
  const ch = Math.max(
    1,
    Math.min(img.height, Math.round(meta.sourceHeight * meta.scale)),
  );
  const c = img.channels;
  const data = new Uint8Array(cw * ch * c);
  for (let y = 0; y < ch; y++) {
    data.set(
      img.data.subarray(y * img.width * c, (y * img.width + cw) * c),
      y * cw * c,
    );
  }
  return resizeBilinear(
    { data, width: cw, height: ch, channels: c },
    meta.sourceWidth,
    meta.sourceHeight,
  );
}

/** A sample id as a safe file-name stem (extension dropped, odd characters replaced). */
export function sampleFileStem(id: number | string): string {
  return String(id).replace(/\.(jpe?g|png)$/i, "").replace(
    /[^A-Za-z0-9_-]/g,
    "_",
  );
}
