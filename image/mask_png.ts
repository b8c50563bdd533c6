/**
 * Label masks as PNG files, the PASCAL VOC way: 8-bit palette PNGs whose
 * pixel values are class indices (255 = ignore, drawn in VOC's cream
 * colour), or 8-bit grey PNGs holding the indices directly. Reading maps a
 * palette PNG's colours back to indices through its own PLTE chunk, so any
 * palette works; writing produces a VOC-palette PNG.
 */
import { Buffer } from "node:buffer";
import { deflateSync } from "node:zlib";
import { PNG } from "pngjs";

/** A decoded label mask: one class index per pixel, row-major. */
export interface LabelMask {
  /** Class index per pixel (`IGNORE_LABEL` = 255 to ignore). */
  data: Uint8Array;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** The PASCAL VOC colour map: 256 RGB triples (bit-interleaved index). */
export function vocPalette(): Uint8Array {
  const out = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    let r = 0, g = 0, b = 0, c = i;
    for (let j = 0; j < 8; j++) {
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    out.set([r, g, b], i * 3);
  }
  return out;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The PLTE chunk of PNG bytes, or null (also for non-PNG data). */
function paletteOf(bytes: Uint8Array): Uint8Array | null {
  if (!SIGNATURE.every((v, i) => bytes[i] === v)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  for (let off = 8; off + 8 <= bytes.length;) {
    const len = view.getUint32(off);
    const type = String.fromCharCode(...bytes.subarray(off + 4, off + 8));
    if (type === "PLTE") return bytes.subarray(off + 8, off + 8 + len);
    if (type === "IDAT" || type === "IEND") return null;
    off += 12 + len;
  }
  return null;
}

/**
 * Decodes a palette or grey PNG into class indices. `file` names the source
 * in the one-line error thrown for unreadable data or a colour that is not
 * in the palette.
 */
export function decodeMaskPng(bytes: Uint8Array, file = "<bytes>"): LabelMask {
  let png: { width: number; height: number; data: Uint8Array };
  try {
    png = PNG.sync.read(
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length),
    );
  } catch (e) {
    throw new Error(
      `${file}: cannot read mask PNG: ${
        String((e as Error).message ?? e).split("\n")[0]
      }`,
    );
  }
  const { width, height } = png;
  const n = width * height;
  const out = new Uint8Array(n);
  const plte = paletteOf(bytes);
  if (!plte) {
    for (let i = 0; i < n; i++) out[i] = png.data[i * 4];
    return { data: out, width, height };
  }
  const index = new Map<number, number>();
  for (let k = plte.length / 3 - 1; k >= 0; k--) {
    index.set(
      (plte[3 * k] << 16) | (plte[3 * k + 1] << 8) | plte[3 * k + 2],
      k,
    );
  }
  for (let i = 0; i < n; i++) {
    const d = png.data;
    const rgb = (d[i * 4] << 16) | (d[i * 4 + 1] << 8) | d[i * 4 + 2];
    const k = index.get(rgb);
    if (k === undefined) {
      throw new Error(
        `${file}: pixel ${i % width},${
          Math.floor(i / width)
        } has a colour not in the palette`,
      );
    }
    out[i] = k;
  }
  return { data: out, width, height };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  let crc = 0xffffffff;
  for (let i = 4; i < 8 + data.length; i++) {
    crc = CRC_TABLE[(crc ^ out[i]) & 0xff] ^ (crc >>> 8);
  }
  view.setUint32(8 + data.length, (crc ^ 0xffffffff) >>> 0);
  return out;
}

/** Encodes class indices as an 8-bit palette PNG (VOC colours by default). */
export function encodeMaskPng(
  mask: LabelMask,
  palette: Uint8Array = vocPalette(),
): Uint8Array {
  const { data, width, height } = mask;
  if (data.length !== width * height) {
    throw new Error(
      `encodeMaskPng: ${data.length} values for ${width}x${height}`,
    );
  }
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header.set([8, 3, 0, 0, 0], 8); // 8-bit, palette, deflate, no filter, no interlace
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) {
    raw.set(data.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  }
  const parts = [
    Uint8Array.from(SIGNATURE),
    chunk("IHDR", header),
    chunk("PLTE", palette),
    chunk("IDAT", new Uint8Array(deflateSync(raw))),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
