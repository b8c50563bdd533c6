/**
 * Preview helpers for `deno task augment-preview`: a letterbox resize to
 * the model input size, a mask overlay, a grid of samples with their boxes
 * drawn, and a small scene generator used when no dataset is available.
 */
import { colorFor, drawBox, fillRect } from "../../image/draw.ts";
import { vocPalette } from "../../image/mask_png.ts";
import { Rng } from "../../core/rng.ts";
import { IGNORE_LABEL, type RawImage, type Sample } from "../../core/types.ts";
import { DEFAULT_FILTER } from "./boxes.ts";
import { resizeAndCrop } from "./scale_jitter.ts";

/** Aspect-preserving resize to fit `size`, padded bottom-right with 0. */
export function letterbox(sample: Sample, size: number): Sample {
  return resizeAndCrop(sample, 1, 0, 0, {
    outputSize: size,
    jitterMin: 1,
    jitterMax: 1,
    padValue: 0,
    filter: DEFAULT_FILTER,
  });
}

/** The VOC colour map, the colours the mask PNGs are written in. */
const VOC_PALETTE = vocPalette();

/**
 * Copy of the sample's image with its mask blended in: each class in its
 * VOC palette colour (as the mask PNGs show it) at `alpha`, background
 * untouched, ignored pixels (255) darkened.
 */
export function overlayMask(sample: Sample, alpha = 0.45): RawImage {
  const img = sample.image;
  const out = new Uint8Array(img.data);
  const mask = sample.mask;
  if (!mask || img.channels !== 3) return { ...img, data: out };
  for (let p = 0; p < mask.length; p++) {
    const m = mask[p];
    if (m === 0) continue;
    const o = p * 3;
    if (m === IGNORE_LABEL) {
      for (let k = 0; k < 3; k++) out[o + k] = out[o + k] >> 1;
      continue;
    }
    for (let k = 0; k < 3; k++) {
      const c = VOC_PALETTE[m * 3 + k];
      out[o + k] = Math.round(out[o + k] * (1 - alpha) + c * alpha);
    }
  }
  return { ...img, data: out };
}

/** Grid layout options. */
export interface GridOptions {
  /** Tile size in pixels (samples are letterboxed to it). */
  tile: number;
  /** Tiles per row; defaults to ⌈√n⌉. */
  columns?: number;
  /** Gap between tiles. */
  gap?: number;
  /** Class names for box captions. */
  classNames?: readonly string[];
}

/** Renders samples (mask overlay, boxes with class captions) in a grid. */
export function renderGrid(
  samples: readonly Sample[],
  opts: GridOptions,
): RawImage {
  const n = samples.length;
  const cols = opts.columns ?? Math.max(1, Math.ceil(Math.sqrt(n)));
  const rows = Math.max(1, Math.ceil(n / cols));
  const gap = opts.gap ?? 4, t = opts.tile;
  const W = cols * t + (cols + 1) * gap, H = rows * t + (rows + 1) * gap;
  const grid: RawImage = {
    data: new Uint8Array(W * H * 3).fill(40),
    width: W,
    height: H,
    channels: 3,
  };
  samples.forEach((s0, i) => {
    const s = s0.image.width === t && s0.image.height === t
      ? s0
      : letterbox(s0, t);
    const tile = { ...overlayMask(s) };
    const b = s.boxes ?? new Float32Array(0);
    for (let j = 0; j < b.length; j += 4) {
      const label = s.labels?.[j / 4] ?? 0;
      const name = opts.classNames?.[label] ?? String(label);
      drawBox(tile, b.subarray(j, j + 4), {
        color: colorFor(label),
        thickness: 1,
        label: s.crowd?.[j / 4] ? `${name} crowd` : name,
      });
    }
    const x0 = gap + (i % cols) * (t + gap),
      y0 = gap + Math.floor(i / cols) * (t + gap);
    for (let y = 0; y < t; y++) {
      const src = tile.data.subarray(y * t * 3, (y + 1) * t * 3);
      grid.data.set(src, ((y0 + y) * W + x0) * 3);
    }
  });
  return grid;
}

/**
 * `count` scenes of coloured rectangles on a gradient, with boxes, labels
 * and a mask (class = label + 1), for previews without a dataset.
 */
export function demoSamples(
  count: number,
  size: number,
  seed: number,
): Sample[] {
  const out: Sample[] = [];
  for (let i = 0; i < count; i++) {
    const rng = new Rng(seed * 7919 + i);
    const data = new Uint8Array(size * size * 3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const o = (y * size + x) * 3;
        data[o] = (x * 255) / size;
        data[o + 1] = (y * 255) / size;
        data[o + 2] = 96 + ((x ^ y) & 31);
      }
    }
    const image: RawImage = { data, width: size, height: size, channels: 3 };
    const mask = new Uint8Array(size * size);
    const k = 2 + rng.int(3);
    const boxes = new Float32Array(4 * k), labels = new Int32Array(k);
    for (let j = 0; j < k; j++) {
      const w = Math.round(size * rng.uniform(0.15, 0.4));
      const h = Math.round(size * rng.uniform(0.15, 0.4));
      const x = rng.int(size - w), y = rng.int(size - h);
      labels[j] = rng.int(3);
      fillRect(image, [x, y, x + w, y + h], colorFor(labels[j] + 3));
      for (let yy = y; yy < y + h; yy++) {
        mask.fill(labels[j] + 1, yy * size + x, yy * size + x + w);
      }
      boxes.set([x, y, x + w, y + h], 4 * j);
    }
    out.push({ id: i, image, boxes, labels, crowd: new Uint8Array(k), mask });
  }
  return out;
}
