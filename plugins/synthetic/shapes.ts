/**
 * The shape classes of the built-in data and their textures. Each shape is
 * an inside-test on normalised, rotated coordinates (u, v) in [-1, 1]²; each
 * texture maps a pixel to a colour. Class identity lives only in the
 * silhouette: colour and texture are drawn independently per object, so a
 * model has to learn shape, not a colour lookup. The detection sets use the
 * first few shapes; the classification set (`objects.ts`) uses all of them,
 * as ImageNet's classes include COCO's and many more. Every shape is told
 * apart from the others under any rotation.
 */
import type { Rng } from "../../core/rng.ts";

/** Shape class names, in label order; `classes: n` uses the first n. */
export const SHAPE_NAMES: readonly string[] = [
  "circle",
  "square",
  "triangle",
  "cross",
  "ring",
  "star",
  "hexagon",
  "pentagon",
  "crescent",
  "heart",
  "arrow",
  "ell",
  "tee",
  "semicircle",
  "frame",
  "bar",
];

/** True when local point (u, v) lies inside a shape. */
export type InsideTest = (u: number, v: number) => boolean;

/** Regular `n`-gon of circumradius 1 with a vertex at angle `start`. */
function polygon(n: number, start: number): InsideTest {
  const sector = (2 * Math.PI) / n, apothem = Math.cos(Math.PI / n);
  return (u, v) => {
    const a = Math.atan2(v, u) - start;
    const t = ((a % sector) + sector) % sector - sector / 2;
    return Math.hypot(u, v) * Math.cos(t) <= apothem;
  };
}

const SHAPES: readonly InsideTest[] = [
  (u, v) => u * u + v * v <= 1,
  (u, v) => Math.abs(u) <= 0.8 && Math.abs(v) <= 0.8,
  // Upward equilateral triangle: apex at v = -1, base at v = 0.6.
  (u, v) => v <= 0.6 && v >= -1 && Math.abs(u) <= (v + 1) * 0.577,
  (u, v) =>
    (Math.abs(u) <= 0.3 && Math.abs(v) <= 0.95) ||
    (Math.abs(v) <= 0.3 && Math.abs(u) <= 0.95),
  (u, v) => {
    const r2 = u * u + v * v;
    return r2 <= 1 && r2 >= 0.36;
  },
  (u, v) => {
    const r = Math.hypot(u, v);
    const c = (Math.cos(5 * Math.atan2(v, u)) + 1) / 2;
    return r <= 0.42 + 0.58 * c * c;
  },
  polygon(6, 0),
  polygon(5, -Math.PI / 2),
  // A disc with an off-centre bite.
  (u, v) => u * u + v * v <= 1 && (u - 0.45) ** 2 + v * v >= 0.6,
  (u, v) => {
    const x = u * 1.2, y = 0.25 - v * 1.25;
    return (x * x + y * y - 1) ** 3 - x * x * y ** 3 <= 0;
  },
  (u, v) =>
    (u >= -0.95 && u <= 0.15 && Math.abs(v) <= 0.22) ||
    (u >= 0.15 && u <= 0.95 && Math.abs(v) <= (0.95 - u) * 1.1),
  (u, v) =>
    (u >= -0.8 && u <= -0.3 && Math.abs(v) <= 0.9) ||
    (v >= 0.4 && v <= 0.9 && Math.abs(u) <= 0.8),
  (u, v) =>
    (v >= -0.9 && v <= -0.4 && Math.abs(u) <= 0.9) ||
    (Math.abs(u) <= 0.25 && Math.abs(v) <= 0.9),
  (u, v) => v <= 0.45 && u * u + (v - 0.45) ** 2 <= 1,
  (u, v) => {
    const m = Math.max(Math.abs(u), Math.abs(v));
    return m <= 0.85 && m >= 0.5;
  },
  (u, v) => Math.abs(u) <= 0.95 && Math.abs(v) <= 0.3,
];

/** Inside-test of shape class `label`. */
export function shapeTest(label: number): InsideTest {
  const t = SHAPES[label];
  if (!t) {
    throw new Error(
      `synthetic: no shape class ${label} (max ${SHAPES.length})`,
    );
  }
  return t;
}

/** An RGB colour as three numbers 0-255. */
export type Colour = [number, number, number];

/** HSV (h in [0, 1)) to RGB 0-255. */
export function hsv(h: number, s: number, v: number): Colour {
  const i = Math.floor(h * 6), f = h * 6 - i;
  const p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
  const [r, g, b] =
    [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][
      ((i % 6) + 6) % 6
    ];
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}

/** Writes the colour of local pixel (u, v) into `out`. */
export type Texture = (u: number, v: number, out: Colour) => void;

/** A random texture: solid, stripes, checker or noisy, in 1-2 random colours. */
export function randomTexture(rng: Rng): Texture {
  const a = hsv(rng.next(), rng.uniform(0.5, 1), rng.uniform(0.55, 1));
  const b = hsv(rng.next(), rng.uniform(0.3, 1), rng.uniform(0.2, 0.9));
  const kind = rng.int(4);
  const freq = rng.uniform(2.5, 6);
  const angle = rng.uniform(0, Math.PI);
  const ca = Math.cos(angle), sa = Math.sin(angle);
  const noise = rng.uniform(10, 45);
  const noiseSeed = rng.nextUint32();
  const copy = (src: Colour, out: Colour) => {
    out[0] = src[0];
    out[1] = src[1];
    out[2] = src[2];
  };
  if (kind === 0) return (_u, _v, out) => copy(a, out);
  if (kind === 1) {
    return (u, v, out) =>
      copy(Math.sin((u * ca + v * sa) * freq * Math.PI) > 0 ? a : b, out);
  }
  if (kind === 2) {
    return (u, v, out) =>
      copy(
        (Math.floor((u + 1) * freq) + Math.floor((v + 1) * freq)) % 2 ? a : b,
        out,
      );
  }
  return (u, v, out) => {
    // Hash-based value noise: deterministic per position, no RNG state.
    const h = Math.imul(
      Math.floor((u + 1) * 64) * 73856093 ^
        Math.floor((v + 1) * 64) * 19349663,
      83492791,
    ) ^
      noiseSeed;
    const n = ((h >>> 8) & 0xff) / 255 - 0.5;
    for (let k = 0; k < 3; k++) {
      out[k] = Math.max(0, Math.min(255, a[k] + n * 2 * noise));
    }
  };
}
