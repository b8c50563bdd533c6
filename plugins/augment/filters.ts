/**
 * Image ops of the contrastive (SimCLR) augmentation that AutoAugment does
 * not have: hue rotation, grey-scale and Gaussian blur, following
 * torchvision's tensor implementations (float maths, uint8 results: hue
 * truncates `x · 255.999` as `convert_image_dtype` does, blur rounds).
 */
import type { RawImage } from "../../core/types.ts";
import { color, requireRgb } from "./color.ts";

/** Per HSV sector, which of (v, t, p, q) becomes r, g and b. */
const HSV_SECTORS = Uint8Array.of(
  ...[0, 1, 2],
  ...[3, 0, 2],
  ...[2, 0, 1],
  ...[2, 3, 0],
  ...[1, 2, 0],
  ...[0, 2, 3],
);

/** A hue channel in [0, 1] as torchvision's uint8 (truncating `x · 255.999`). */
function hueByte(c: number): number {
  const x = c * 255.999;
  return x <= 0 ? 0 : x >= 255 ? 255 : x | 0;
}

/**
 * Rotates the hue of every pixel by `shift` turns (torchvision
 * `adjust_hue`, `shift` in [-0.5, 0.5]): RGB → HSV, h + shift mod 1, → RGB.
 */
export function adjustHue(img: RawImage, shift: number): RawImage {
  requireRgb(img, "adjustHue");
  const s = img.data, out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i += 3) {
    const r = s[i] / 255, g = s[i + 1] / 255, b = s[i + 2] / 255;
    const max = Math.max(r, g, b), min = Math.min(r, g, b);
    const chroma = max - min;
    let h = 0;
    if (chroma > 0) {
      if (max === r) h = (g - b) / chroma;
      else if (max === g) h = 2 + (b - r) / chroma;
      else h = 4 + (r - g) / chroma;
    }
    h = (((h / 6 + 1) % 1) + shift) % 1;
    if (h < 0) h += 1;
    const sat = max > 0 ? chroma / max : 0, v = max;
    const k = Math.floor(h * 6), f = h * 6 - k;
    const p = v * (1 - sat), q = v * (1 - sat * f), t = v * (1 - sat * (1 - f));
    // the HSV sector picks which of v, t, p, q each channel takes (no
    // per-pixel arrays: this runs on most SimCLR views)
    const sector = 3 * (k % 6);
    for (let c = 0; c < 3; c++) {
      const which = HSV_SECTORS[sector + c];
      out[i + c] = hueByte(
        which === 0 ? v : which === 1 ? t : which === 2 ? p : q,
      );
    }
  }
  return { ...img, data: out };
}

/** Grey-scale with the grey value in all three channels (saturation 0). */
export function grayscale(img: RawImage): RawImage {
  requireRgb(img, "grayscale");
  return color(img, 0);
}

/** Normalised 1-D Gaussian weights of odd length `size` (torchvision's). */
export function gaussianKernel(size: number, sigma: number): Float64Array {
  if (!(size >= 1 && size % 2 === 1 && sigma > 0)) {
    throw new Error(
      `gaussian kernel: size must be odd and >= 1 and sigma > 0, got ${size}, ${sigma}`,
    );
  }
  const half = (size - 1) / 2, k = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    k[i] = Math.exp(-0.5 * ((i - half) / sigma) ** 2);
    sum += k[i];
  }
  for (let i = 0; i < size; i++) k[i] /= sum;
  return k;
}

/** Index `i` reflected into 0..n-1 without repeating the edge (`reflect` padding). */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

/**
 * Gaussian blur with an odd `size` kernel of std `sigma`, reflect padding
 * (torchvision `gaussian_blur`), separable, results rounded.
 */
export function gaussianBlur(
  img: RawImage,
  size: number,
  sigma: number,
): RawImage {
  const k = gaussianKernel(size, sigma);
  const rows = new Float64Array(img.data.length);
  blurPass(img.data, img, k, true, rows);
  const out = new Uint8Array(rows.length);
  blurPass(rows, img, k, false, out);
  return { ...img, data: out };
}

/**
 * One pass of the separable blur: each value of `src` (laid out as `img`)
 * convolved with kernel `k` along x (`alongX`) or y, reflect padding, into
 * `out` (a byte array gets the results rounded and clamped).
 */
function blurPass(
  src: ArrayLike<number>,
  img: RawImage,
  k: ArrayLike<number>,
  alongX: boolean,
  out: Float64Array | Uint8Array,
): void {
  const { width: W, height: H, channels: C } = img;
  const half = (k.length - 1) / 2, bytes = out instanceof Uint8Array;
  // Pixel index of tap t along the pass's axis: base + reflect(t) * step.
  const [len, step] = alongX ? [W, 1] : [H, W];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const t = alongX ? x : y, base = alongX ? y * W : x;
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let j = 0; j < k.length; j++) {
          acc += k[j] * src[(base + reflect(t + j - half, len) * step) * C + c];
        }
        const i = (y * W + x) * C + c;
        out[i] = bytes ? Math.min(255, Math.max(0, Math.round(acc))) : acc;
      }
    }
  }
}
