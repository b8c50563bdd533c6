/**
 * Drawing on `RawImage`s in place: filled and outlined rectangles, a tiny 5×7
 * bitmap font for class names and scores, and `drawBox` that combines them
 * the way detection visualisers do. Pure typed-array code, no canvas, so
 * previews and predictions render anywhere. Coordinates outside the image
 * are clipped, never an error.
 */
import type { RawImage } from "../core/types.ts";

/** An RGB colour, each channel 0-255. */
export type Rgb = readonly [number, number, number];

/** Glyph cell width and height of the built-in font, in font pixels. */
export const GLYPH_WIDTH = 5;
/** Glyph height in font pixels. */
export const GLYPH_HEIGHT = 7;

// 5×7 glyphs, seven rows of 5 bits (bit 4 = leftmost column), hex per row.
const GLYPHS: Record<string, string> = {
  "0": "0e11131519110e",
  "1": "040c040404040e",
  "2": "0e11010204081f",
  "3": "1f02040201110e",
  "4": "02060a121f0202",
  "5": "1f101e0101110e",
  "6": "0608101e11110e",
  "7": "1f010204080808",
  "8": "0e11110e11110e",
  "9": "0e11110f01020c",
  "A": "0e11111f111111",
  "B": "1e11111e11111e",
  "C": "0e11101010110e",
  "D": "1c12111111121c",
  "E": "1f10101e10101f",
  "F": "1f10101e101010",
  "G": "0e11101711110f",
  "H": "1111111f111111",
  "I": "0e04040404040e",
  "J": "0702020202120c",
  "K": "11121418141211",
  "L": "1010101010101f",
  "M": "111b1515111111",
  "N": "11111915131111",
  "O": "0e11111111110e",
  "P": "1e11111e101010",
  "Q": "0e11111115120d",
  "R": "1e11111e141211",
  "S": "0f10100e01011e",
  "T": "1f040404040404",
  "U": "1111111111110e",
  "V": "11111111110a04",
  "W": "1111111515150a",
  "X": "11110a040a1111",
  "Y": "1111110a040404",
  "Z": "1f01020408101f",
  ".": "00000000000c0c",
  ",": "00000000000c08",
  "-": "0000001f000000",
  "+": "0004041f040400",
  ":": "000c0c000c0c00",
  "_": "0000000000001f",
  "/": "00010204081000",
  "%": "18190204081303",
  "(": "02040808080402",
  ")": "08040202020408",
  "=": "00001f001f0000",
  "?": "0e110102040004",
  " ": "00000000000000",
};

function glyphRows(ch: string): number[] {
  const hex = GLYPHS[ch] ?? GLYPHS[ch.toUpperCase()] ?? GLYPHS["?"];
  const rows: number[] = [];
  for (let r = 0; r < GLYPH_HEIGHT; r++) {
    rows.push(parseInt(hex.slice(r * 2, r * 2 + 2), 16));
  }
  return rows;
}

/** A distinct, saturated colour for class `index` (stable across runs). */
export function colorFor(index: number): Rgb {
  const palette: Rgb[] = [
    [230, 25, 75],
    [60, 180, 75],
    [255, 225, 25],
    [0, 130, 200],
    [245, 130, 48],
    [145, 30, 180],
    [70, 240, 240],
    [240, 50, 230],
    [210, 245, 60],
    [250, 190, 212],
    [0, 128, 128],
    [170, 110, 40],
  ];
  return palette[((index % palette.length) + palette.length) % palette.length];
}

/** Sets pixel (x, y) to `color` if inside the image; blends by `alpha`. */
export function setPixel(
  image: RawImage,
  x: number,
  y: number,
  color: Rgb,
  alpha = 1,
): void {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
  const c = image.channels;
  const o = (y * image.width + x) * c;
  for (let k = 0; k < Math.min(c, 3); k++) {
    const v = color[c >= 3 ? k : 0];
    image.data[o + k] = alpha >= 1
      ? v
      : Math.round(image.data[o + k] * (1 - alpha) + v * alpha);
  }
}

/**
 * Fills the pixel rectangle [x1, x2) × [y1, y2) of `box` `[x1, y1, x2, y2]`
 * (clipped), optionally blended.
 */
export function fillRect(
  image: RawImage,
  box: ArrayLike<number>,
  color: Rgb,
  alpha = 1,
): void {
  const xa = Math.max(0, Math.floor(box[0]));
  const ya = Math.max(0, Math.floor(box[1]));
  const xb = Math.min(image.width, Math.ceil(box[2]));
  const yb = Math.min(image.height, Math.ceil(box[3]));
  for (let y = ya; y < yb; y++) {
    for (let x = xa; x < xb; x++) setPixel(image, x, y, color, alpha);
  }
}

/** Outlines `box` with lines `thickness` pixels wide, inside the box. */
function outlineRect(
  image: RawImage,
  box: ArrayLike<number>,
  color: Rgb,
  thickness: number,
): void {
  const t = Math.max(1, Math.round(thickness));
  const xa = Math.round(box[0]);
  const ya = Math.round(box[1]);
  const xb = Math.max(xa + 1, Math.round(box[2]));
  const yb = Math.max(ya + 1, Math.round(box[3]));
  fillRect(image, [xa, ya, xb, Math.min(yb, ya + t)], color);
  fillRect(image, [xa, Math.max(ya, yb - t), xb, yb], color);
  fillRect(image, [xa, ya, Math.min(xb, xa + t), yb], color);
  fillRect(image, [Math.max(xa, xb - t), ya, xb, yb], color);
}

/** Width in image pixels of `text` drawn at `scale` (one blank column between glyphs). */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * (GLYPH_WIDTH + 1) - 1) * scale;
}

/** Height in image pixels of a text line at `scale`. */
export function textHeight(scale = 1): number {
  return GLYPH_HEIGHT * scale;
}

/** Draws `text` with its top-left corner at (x, y); letters are upper-cased. */
export function drawText(
  image: RawImage,
  text: string,
  x: number,
  y: number,
  color: Rgb,
  scale = 1,
): void {
  const s = Math.max(1, Math.round(scale));
  let cx = Math.round(x);
  const cy = Math.round(y);
  for (const ch of text) {
    const rows = glyphRows(ch);
    for (let r = 0; r < GLYPH_HEIGHT; r++) {
      for (let c = 0; c < GLYPH_WIDTH; c++) {
        if ((rows[r] >> (GLYPH_WIDTH - 1 - c)) & 1) {
          const x = cx + c * s, y = cy + r * s;
          fillRect(image, [x, y, x + s, y + s], color);
        }
      }
    }
    cx += (GLYPH_WIDTH + 1) * s;
  }
}

/** Options of `drawBox`. */
export interface DrawBoxOptions {
  /** Outline colour (default: `colorFor(0)`). */
  color?: Rgb;
  /** Outline width in pixels (default 2). */
  thickness?: number;
  /** Caption drawn on a filled tab above the box (or inside when no room). */
  label?: string;
  /** Font scale of the caption (default 1). */
  textScale?: number;
  /** Caption colour (default black or white, whichever contrasts). */
  textColor?: Rgb;
}

/**
 * Draws a detection box `[x1, y1, x2, y2]` (image pixels) with an optional
 * caption such as `"circle 0.87"`, in place.
 */
export function drawBox(
  image: RawImage,
  box: ArrayLike<number>,
  options: DrawBoxOptions = {},
): void {
  const color = options.color ?? colorFor(0);
  const [x1, y1] = [box[0], box[1]];
  outlineRect(image, box, color, options.thickness ?? 2);
  if (!options.label) return;
  const s = options.textScale ?? 1;
  const w = textWidth(options.label, s) + 2;
  const h = textHeight(s) + 2;
  const tx = Math.max(0, Math.min(Math.round(x1), image.width - w));
  // Tab above the box when there is room, else just inside its top edge.
  const ty = y1 - h >= 0 ? Math.round(y1) - h : Math.max(0, Math.round(y1));
  fillRect(image, [tx, ty, tx + w, ty + h], color);
  const luminance = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2];
  const textColor = options.textColor ??
    (luminance > 140 ? [0, 0, 0] as Rgb : [255, 255, 255] as Rgb);
  drawText(image, options.label, tx + 1, ty + 1, textColor, s);
}
