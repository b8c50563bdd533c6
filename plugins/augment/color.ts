/**
 * Colour ops of AutoAugment / RandAugment on 8-bit images, following the
 * TensorFlow reference: values blend in float and are truncated to uint8
 * (clipped first when extrapolating). Pointwise ops build a 256-entry
 * lookup table once and map every byte through it.
 */
import type { RawImage } from "../../core/types.ts";

/** Maps every byte of `img` through `lut` (shared by all channels). */
export function applyLut(img: RawImage, lut: Uint8Array): RawImage {
  const src = img.data, out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = lut[src[i]];
  return { ...img, data: out };
}

/** Maps channel `k` of each pixel through `luts[k]`. */
export function applyChannelLuts(img: RawImage, luts: Uint8Array[]): RawImage {
  const src = img.data, out = new Uint8Array(src.length), C = img.channels;
  for (let k = 0; k < C; k++) {
    const lut = luts[k];
    for (let i = k; i < src.length; i += C) out[i] = lut[src[i]];
  }
  return { ...img, data: out };
}

function lutOf(f: (v: number) => number): Uint8Array {
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = f(v);
  return lut;
}

/** `trunc(clip(x, 0, 255))`, the reference's float → uint8 cast. */
export function toByte(x: number): number {
  return x <= 0 ? 0 : x >= 255 ? 255 : x | 0;
}

/** 255 − v. */
export function invert(img: RawImage): RawImage {
  return applyLut(img, lutOf((v) => 255 - v));
}

/** Keeps the top `bits` bits of every value (`bits` ≤ 0 gives black). */
export function posterize(img: RawImage, bits: number): RawImage {
  const shift = 8 - Math.max(0, Math.min(8, bits | 0));
  return applyLut(img, lutOf((v) => shift >= 8 ? 0 : (v >> shift) << shift));
}

/** Values at or above `threshold` become 255 − v. */
export function solarize(img: RawImage, threshold: number): RawImage {
  return applyLut(img, lutOf((v) => v < threshold ? v : 255 - v));
}

/** Values below `threshold` get `addition` added (clipped). */
export function solarizeAdd(
  img: RawImage,
  addition: number,
  threshold = 128,
): RawImage {
  return applyLut(img, lutOf((v) => v < threshold ? toByte(v + addition) : v));
}

/** Blend with black: `v · factor`. */
export function brightness(img: RawImage, factor: number): RawImage {
  return applyLut(img, lutOf((v) => toByte(v * factor)));
}

/**
 * TF's `rgb_to_grayscale` of one uint8 pixel: weighted sum in [0, 1], back
 * to uint8 by ×255.5 and truncation (`convert_image_dtype`).
 */
export function grayOf(r: number, g: number, b: number): number {
  return toByte(((0.2989 * r + 0.587 * g + 0.114 * b) / 255) * 255.5);
}

/** Throws (naming `op`) unless `img` has 3 channels. */
export function requireRgb(img: RawImage, op: string): void {
  if (img.channels !== 3) {
    throw new Error(
      `plugins/augment/color.ts: ${op} needs 3 channels, got ${img.channels}`,
    );
  }
}

/** Saturation: blend each pixel with its own grey value. */
export function color(img: RawImage, factor: number): RawImage {
  requireRgb(img, "color");
  const s = img.data, out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i += 3) {
    const r = s[i], g = s[i + 1], b = s[i + 2];
    const m = grayOf(r, g, b);
    out[i] = toByte(m + factor * (r - m));
    out[i + 1] = toByte(m + factor * (g - m));
    out[i + 2] = toByte(m + factor * (b - m));
  }
  return { ...img, data: out };
}

/**
 * Contrast: blend with the image's mean grey level (the mean of the grey
 * histogram, as PIL and Model Garden's TF2 port compute it).
 */
export function contrast(img: RawImage, factor: number): RawImage {
  requireRgb(img, "contrast");
  const s = img.data;
  let sum = 0;
  for (let i = 0; i < s.length; i += 3) sum += grayOf(s[i], s[i + 1], s[i + 2]);
  const mean = toByte(sum / (s.length / 3));
  return applyLut(img, lutOf((v) => toByte(mean + factor * (v - mean))));
}

/**
 * Sharpness: blend with a 3×3 smoothed copy (PIL's SMOOTH kernel
 * `[[1,1,1],[1,5,1],[1,1,1]] / 13`); border pixels keep their values.
 */
export function sharpness(img: RawImage, factor: number): RawImage {
  const { width: W, height: H, channels: C, data: s } = img;
  const out = new Uint8Array(s);
  if (W < 3 || H < 3) return { ...img, data: out };
  const row = W * C;
  // Horizontal 3-sums, then kernel sum = vertical 3-sum of them + 4·centre.
  const hs = new Int32Array(s.length);
  for (let y = 0; y < H; y++) {
    for (let i = y * row + C, end = (y + 1) * row - C; i < end; i++) {
      hs[i] = s[i - C] + s[i] + s[i + C];
    }
  }
  for (let y = 1; y < H - 1; y++) {
    for (let i = y * row + C, end = (y + 1) * row - C; i < end; i++) {
      const c = s[i];
      // sum ≤ 13·255, so the smoothed value needs no clipping.
      const smooth = ((hs[i - row] + hs[i] + hs[i + row] + 4 * c) / 13) | 0;
      const v = smooth + factor * (c - smooth);
      out[i] = v <= 0 ? 0 : v >= 255 ? 255 : v | 0;
    }
  }
  return { ...img, data: out };
}

/** Stretches each channel so its minimum maps to 0 and maximum to 255. */
export function autoContrast(img: RawImage): RawImage {
  const { channels: C, data: s } = img;
  const luts: Uint8Array[] = [];
  for (let k = 0; k < C; k++) {
    let lo = 255, hi = 0;
    for (let i = k; i < s.length; i += C) {
      const v = s[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const scale = 255 / (hi - lo);
    luts.push(lutOf((v) => hi > lo ? toByte(v * scale - lo * scale) : v));
  }
  return applyChannelLuts(img, luts);
}

/** Histogram equalisation per channel, PIL's algorithm. */
export function equalize(img: RawImage): RawImage {
  const { channels: C, data: s } = img;
  const luts: Uint8Array[] = [];
  const hist = new Int32Array(256);
  for (let k = 0; k < C; k++) {
    hist.fill(0);
    for (let i = k; i < s.length; i += C) hist[s[i]]++;
    let total = 0, last = 0;
    for (let v = 0; v < 256; v++) {
      if (hist[v] > 0) {
        total += hist[v];
        last = hist[v];
      }
    }
    const step = Math.floor((total - last) / 255);
    const lut = new Uint8Array(256);
    if (step === 0) {
      for (let v = 0; v < 256; v++) lut[v] = v;
    } else {
      // lut[v] = (cumsum before v + step/2) / step, clipped.
      let cum = 0;
      const half = Math.floor(step / 2);
      for (let v = 0; v < 256; v++) {
        lut[v] = Math.min(255, Math.floor((cum + half) / step));
        cum += hist[v];
      }
    }
    luts.push(lut);
  }
  return applyChannelLuts(img, luts);
}
