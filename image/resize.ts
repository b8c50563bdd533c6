/**
 * Resizing `RawImage`s: bilinear with half-pixel centres (the convention of
 * TF `resize_bilinear(half_pixel_centers=True)` and OpenCV), and the
 * aspect-preserving "letterbox" used for detection inputs: scale so the
 * image fits the target, then pad bottom and right, so box coordinates only
 * need multiplying by `scale`.
 */
import type { RawImage } from "../core/types.ts";

/** Bilinear resize to `width` × `height` (any channel count). */
export function resizeBilinear(
  image: RawImage,
  width: number,
  height: number,
): RawImage {
  const { width: sw, height: sh, channels: c, data } = image;
  if (width < 1 || height < 1) {
    throw new Error(`resize: bad target size ${width}x${height}`);
  }
  const out = new Uint8Array(width * height * c);
  if (sw === width && sh === height) {
    out.set(data);
    return { data: out, width, height, channels: c };
  }
  const sx = sw / width, sy = sh / height;
  // Precompute the horizontal taps once per column.
  const x0s = new Int32Array(width), x1s = new Int32Array(width);
  const fxs = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), sw - 1);
    x0s[x] = Math.floor(fx);
    x1s[x] = Math.min(x0s[x] + 1, sw - 1);
    fxs[x] = fx - x0s[x];
  }
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), sh - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, sh - 1), wy = fy - y0;
    const r0 = y0 * sw * c, r1 = y1 * sw * c;
    for (let x = 0; x < width; x++) {
      const a = x0s[x] * c, b = x1s[x] * c, wx = fxs[x];
      const o = (y * width + x) * c;
      for (let k = 0; k < c; k++) {
        const top = data[r0 + a + k] +
          (data[r0 + b + k] - data[r0 + a + k]) * wx;
        const bot = data[r1 + a + k] +
          (data[r1 + b + k] - data[r1 + a + k]) * wx;
        out[o + k] = Math.round(top + (bot - top) * wy);
      }
    }
  }
  return { data: out, width, height, channels: c };
}

/** Result of `letterbox`. */
export interface Letterboxed {
  /** The `targetWidth` × `targetHeight` image, content at the top-left. */
  image: RawImage;
  /** Output pixels per source pixel. */
  scale: number;
  /** Width of the resized content (the rest is padding). */
  contentWidth: number;
  /** Height of the resized content. */
  contentHeight: number;
}

/**
 * Scales `image` to fit inside `targetWidth` × `targetHeight` keeping its
 * aspect ratio, and pads bottom/right with `fill` (per-channel value).
 */
export function letterbox(
  image: RawImage,
  targetWidth: number,
  targetHeight: number = targetWidth,
  fill = 0,
): Letterboxed {
  const scale = Math.min(
    targetWidth / image.width,
    targetHeight / image.height,
  );
  const cw = Math.max(
    1,
    Math.min(targetWidth, Math.round(image.width * scale)),
  );
  const ch = Math.max(
    1,
    Math.min(targetHeight, Math.round(image.height * scale)),
  );
  const resized = resizeBilinear(image, cw, ch);
  const c = image.channels;
  const data = new Uint8Array(targetWidth * targetHeight * c);
  if (fill !== 0) data.fill(fill);
  for (let y = 0; y < ch; y++) {
    data.set(
      resized.data.subarray(y * cw * c, (y + 1) * cw * c),
      y * targetWidth * c,
    );
  }
  return {
    image: { data, width: targetWidth, height: targetHeight, channels: c },
    scale,
    contentWidth: cw,
    contentHeight: ch,
  };
}

/** Multiplies flattened `[x1, y1, x2, y2]` boxes by `scale` (new array). */
export function scaleBoxes(boxes: Float32Array, scale: number): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i++) out[i] = boxes[i] * scale;
  return out;
}
