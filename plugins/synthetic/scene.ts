/**
 * One synthetic detection image: a noisy gradient background with clutter
 * (lines and dots that belong to no class), then shapes of random class,
 * size (log-uniform), aspect, rotation, colour and texture, painted in order
 * so later shapes occlude earlier ones. Each object's box and area are those
 * of its visible pixels, as a human annotator would draw them; an object
 * mostly hidden (< `minVisible` of its pixels) becomes a crowd/ignore region.
 */
import type { Rng } from "../../core/rng.ts";
import type { RawImage } from "../../core/types.ts";
import {
  type Colour,
  hsv,
  type InsideTest,
  randomTexture,
  shapeTest,
  type Texture,
} from "./shapes.ts";

/** Scene parameters. */
export interface SceneOptions {
  /** Image width and height in pixels. */
  imageSize: number;
  /** Number of shape classes used (first n of `SHAPE_NAMES`). */
  classes: number;
  /** Fewest objects per image. */
  minObjects: number;
  /** Most objects per image. */
  maxObjects: number;
  /** Smallest object diameter in pixels. */
  minSize: number;
  /** Largest object diameter in pixels. */
  maxSize: number;
  /** Visible fraction below which an object is marked crowd (ignored). */
  minVisible: number;
  /** Clutter items (lines, dots) per image, on average. */
  clutter: number;
}

/** An annotated object of a scene, in COCO terms. */
export interface SceneObject {
  /** Contiguous class label. */
  label: number;
  /** `[x, y, w, h]` of the visible pixels. */
  bbox: [number, number, number, number];
  /** Visible pixel count. */
  area: number;
  /** 1 when mostly occluded (ignore region). */
  iscrowd: number;
}

/** A noisy two-colour gradient, `size` × `size`. */
export function background(rng: Rng, size: number): RawImage {
  const data = new Uint8Array(size * size * 3);
  const c0 = hsv(rng.next(), rng.uniform(0, 0.35), rng.uniform(0.15, 0.85));
  const c1 = hsv(rng.next(), rng.uniform(0, 0.35), rng.uniform(0.15, 0.85));
  const ang = rng.uniform(0, 2 * Math.PI);
  const ca = Math.cos(ang) / size, sa = Math.sin(ang) / size;
  const noise = rng.uniform(4, 20);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const t = Math.min(
        1,
        Math.max(0, 0.5 + (x - size / 2) * ca + (y - size / 2) * sa),
      );
      const n = (rng.next() - 0.5) * noise;
      const o = (y * size + x) * 3;
      for (let k = 0; k < 3; k++) data[o + k] = c0[k] + (c1[k] - c0[k]) * t + n;
    }
  }
  return { data, width: size, height: size, channels: 3 };
}

function put(img: RawImage, x: number, y: number, c: Colour): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const o = (y * img.width + x) * 3;
  img.data[o] = c[0];
  img.data[o + 1] = c[1];
  img.data[o + 2] = c[2];
}

/** Paints `count` clutter items (lines and small dots of no class). */
export function clutter(rng: Rng, img: RawImage, count: number): void {
  const size = img.width;
  for (let i = 0; i < count; i++) {
    const c = hsv(rng.next(), rng.uniform(0, 1), rng.uniform(0.1, 1));
    if (rng.bernoulli(0.5)) {
      // A line segment, 1-2 px thick.
      const x0 = rng.uniform(0, size), y0 = rng.uniform(0, size);
      const len = rng.uniform(size * 0.1, size * 0.6),
        a = rng.uniform(0, 2 * Math.PI);
      const thick = 1 + rng.int(2);
      for (let s = 0; s <= len; s += 0.5) {
        const x = Math.round(x0 + Math.cos(a) * s),
          y = Math.round(y0 + Math.sin(a) * s);
        for (let t = 0; t < thick; t++) put(img, x + t, y, c);
      }
    } else {
      // A small dot, well under the smallest object size.
      const r = rng.uniform(0.8, 2.5),
        cx = rng.uniform(0, size),
        cy = rng.uniform(0, size);
      for (let y = Math.floor(cy - r); y <= cy + r; y++) {
        for (let x = Math.floor(cx - r); x <= cx + r; x++) {
          if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) put(img, x, y, c);
        }
      }
    }
  }
}

/** Where and how one object is painted. */
export interface PlacedShape {
  /** Silhouette. */
  inside: InsideTest;
  /** Colour of each local point. */
  texture: Texture;
  /** Centre x in pixels. */
  cx: number;
  /** Centre y in pixels. */
  cy: number;
  /** Half-width in pixels (before rotation). */
  rx: number;
  /** Half-height in pixels. */
  ry: number;
  /** Rotation in radians. */
  rot: number;
}

/**
 * Paints a shape over `image` (square) and calls `mark` with the index
 * (y·size + x) of each pixel it covers; returns how many it covered.
 */
export function paintShape(
  image: RawImage,
  s: PlacedShape,
  mark?: (pixel: number) => void,
): number {
  const size = image.width;
  const { cx, cy, rx, ry } = s;
  const cr = Math.cos(s.rot), sr = Math.sin(s.rot);
  const reach = Math.max(rx, ry) * 1.05;
  const colour: Colour = [0, 0, 0];
  let count = 0;
  for (
    let y = Math.max(0, Math.floor(cy - reach));
    y < Math.min(size, Math.ceil(cy + reach));
    y++
  ) {
    for (
      let x = Math.max(0, Math.floor(cx - reach));
      x < Math.min(size, Math.ceil(cx + reach));
      x++
    ) {
      const dx = x + 0.5 - cx, dy = y + 0.5 - cy;
      const u = (dx * cr + dy * sr) / rx, v = (-dx * sr + dy * cr) / ry;
      if (!s.inside(u, v)) continue;
      s.texture(u, v, colour);
      put(image, x, y, colour);
      mark?.(y * size + x);
      count++;
    }
  }
  return count;
}

/**
 * Renders one scene. Deterministic in `rng`'s state. `classMap` is the
 * visible class per pixel (0 background, label + 1), for segmentation.
 */
export function renderScene(
  rng: Rng,
  o: SceneOptions,
): { image: RawImage; objects: SceneObject[]; classMap: Uint8Array } {
  const size = o.imageSize;
  const image = background(rng, size);
  clutter(rng, image, Math.round(o.clutter * rng.uniform(0.5, 1.5)));
  const owner = new Int16Array(size * size).fill(-1);
  const n = o.minObjects + rng.int(o.maxObjects - o.minObjects + 1);
  const painted: number[] = [];
  const labels: number[] = [];
  for (let j = 0; j < n; j++) {
    const label = rng.int(o.classes);
    const inside = shapeTest(label);
    const texture = randomTexture(rng);
    const d = Math.exp(rng.uniform(Math.log(o.minSize), Math.log(o.maxSize)));
    const rx = (d / 2) * rng.uniform(0.85, 1.15),
      ry = (d / 2) * rng.uniform(0.85, 1.15);
    // Mostly inside the frame; sometimes cut by the border.
    const slack = rng.bernoulli(0.15) ? 0.4 : -0.05;
    const lo = Math.max(rx, ry) * (1 - slack), hi = size - lo;
    const cx = lo < hi ? rng.uniform(lo, hi) : size / 2;
    const cy = lo < hi ? rng.uniform(lo, hi) : size / 2;
    const rot = rng.uniform(0, 2 * Math.PI);
    const count = paintShape(
      image,
      { inside, texture, cx, cy, rx, ry, rot },
      (i) => owner[i] = j,
    );
    painted.push(count);
    labels.push(label);
  }
  // Visible pixels and their bounding box per object.
  const vis = new Int32Array(n);
  const box = Array.from({ length: n }, () => [size, size, -1, -1]);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const j = owner[y * size + x];
      if (j < 0) continue;
      vis[j]++;
      const b = box[j];
      if (x < b[0]) b[0] = x;
      if (y < b[1]) b[1] = y;
      if (x > b[2]) b[2] = x;
      if (y > b[3]) b[3] = y;
    }
  }
  const objects: SceneObject[] = [];
  for (let j = 0; j < n; j++) {
    if (vis[j] < 4) continue; // fully hidden or a sliver: nothing to annotate
    const [x1, y1, x2, y2] = box[j];
    objects.push({
      label: labels[j],
      bbox: [x1, y1, x2 - x1 + 1, y2 - y1 + 1],
      area: vis[j],
      iscrowd: vis[j] < o.minVisible * painted[j] ? 1 : 0,
    });
  }
  // Per-pixel class for segmentation: 0 background, label + 1 on a shape.
  const classMap = new Uint8Array(size * size);
  for (let i = 0; i < classMap.length; i++) {
    if (owner[i] >= 0) classMap[i] = labels[owner[i]] + 1;
  }
  return { image, objects, classMap };
}
