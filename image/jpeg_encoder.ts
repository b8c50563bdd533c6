/**
 * Baseline JPEG encoder (JFIF, 4:4:4, the standard quantisation and Huffman
 * tables of ITU T.81 Annex K). jpeg-js rebuilds ~65k lookup entries on every
 * `encode` call, which made writing thousands of small images take ~30 ms
 * each; here the tables are built once per quality and a 128×128 image
 * encodes in about a millisecond.
 */

import {
  AC_CHROMA,
  AC_LUMA,
  CHROMA_Q,
  DC_CHROMA,
  DC_LUMA,
  type HuffSpec,
  LUMA_Q,
  ZIGZAG,
} from "./jpeg_tables.ts";

/** Code and length per symbol, from a bits/values spec (T.81 Annex C). */
function buildCodes(spec: HuffSpec): { code: Uint16Array; len: Uint8Array } {
  const code = new Uint16Array(256), len = new Uint8Array(256);
  let c = 0, k = 0;
  for (let l = 1; l <= 16; l++) {
    for (let i = 0; i < spec.bits[l - 1]; i++) {
      code[spec.values[k]] = c++;
      len[spec.values[k++]] = l;
    }
    c <<= 1;
  }
  return { code, len };
}

const CODES = [DC_LUMA, AC_LUMA, DC_CHROMA, AC_CHROMA].map(buildCodes);

/** Quantisation table (natural order) for `quality`, IJG scaling. */
function quantTable(base: number[], quality: number): Uint8Array {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const sf = q < 50 ? Math.floor(5000 / q) : 200 - 2 * q;
  return Uint8Array.from(
    base,
    (b) => Math.min(255, Math.max(1, Math.floor((b * sf + 50) / 100))),
  );
}

// cos((2x+1)uπ/16) · C(u)/2, so a 2-D DCT is two 8×8 matrix products.
const DCT = new Float64Array(64);
for (let u = 0; u < 8; u++) {
  for (let x = 0; x < 8; x++) {
    DCT[u * 8 + x] = (u === 0 ? Math.SQRT1_2 : 1) / 2 *
      Math.cos(((2 * x + 1) * u * Math.PI) / 16);
  }
}

class BitWriter {
  buf = new Uint8Array(4096);
  n = 0;
  #acc = 0;
  #bits = 0;

  byte(b: number): void {
    if (this.n === this.buf.length) {
      const next = new Uint8Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = b;
  }

  bytes(bs: ArrayLike<number>): void {
    for (let i = 0; i < bs.length; i++) this.byte(bs[i]);
  }

  /** Appends `len` (<= 16) bits of `value`, stuffing 0x00 after every 0xFF. */
  bits(value: number, len: number): void {
    this.#acc = (this.#acc << len) | (value & ((1 << len) - 1));
    this.#bits += len;
    while (this.#bits >= 8) {
      const b = (this.#acc >>> (this.#bits - 8)) & 0xff;
      this.byte(b);
      if (b === 0xff) this.byte(0);
      this.#bits -= 8;
    }
    this.#acc &= (1 << this.#bits) - 1;
  }

  /** Pads the last byte with 1 bits. */
  flush(): void {
    if (this.#bits > 0) this.bits((1 << (8 - this.#bits)) - 1, 8 - this.#bits);
  }
}

function segment(w: BitWriter, marker: number, body: number[]): void {
  w.bytes([
    0xff,
    marker,
    (body.length + 2) >> 8,
    (body.length + 2) & 0xff,
    ...body,
  ]);
}

function bitLength(v: number): number {
  let n = 0;
  for (let a = Math.abs(v); a > 0; a >>= 1) n++;
  return n;
}

/**
 * Encodes 8-bit RGB pixels (`width * height * 3`, row-major) as a baseline
 * JPEG at `quality` 1-100.
 */
export function encodeJpegRgb(
  rgb: Uint8Array,
  width: number,
  height: number,
  quality = 90,
): Uint8Array {
  const qt = [quantTable(LUMA_Q, quality), quantTable(CHROMA_Q, quality)];
  const w = new BitWriter();
  w.bytes([0xff, 0xd8]);
  segment(w, 0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  segment(w, 0xdb, [
    0,
    ...Array.from(ZIGZAG, (z) => qt[0][z]),
    1,
    ...Array.from(ZIGZAG, (z) => qt[1][z]),
  ]);
  segment(w, 0xc0, [
    8,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    3,
    1,
    0x11,
    0,
    2,
    0x11,
    1,
    3,
    0x11,
    1,
  ]);
  const dht: number[] = [];
  [[0x00, DC_LUMA], [0x10, AC_LUMA], [0x01, DC_CHROMA], [0x11, AC_CHROMA]]
    .forEach(([cls, spec]) => {
      dht.push(
        cls as number,
        ...(spec as HuffSpec).bits,
        ...(spec as HuffSpec).values,
      );
    });
  segment(w, 0xc4, dht);
  segment(w, 0xda, [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);

  const block = new Float64Array(64), tmp = new Float64Array(64);
  const quant = new Int32Array(64);
  const prevDc = [0, 0, 0];
  for (let by = 0; by < height; by += 8) {
    for (let bx = 0; bx < width; bx += 8) {
      for (let comp = 0; comp < 3; comp++) {
        // Level-shifted component samples; edge pixels replicated.
        for (let y = 0; y < 8; y++) {
          const sy = Math.min(by + y, height - 1);
          for (let x = 0; x < 8; x++) {
            const o = (sy * width + Math.min(bx + x, width - 1)) * 3;
            const r = rgb[o], g = rgb[o + 1], b = rgb[o + 2];
            block[y * 8 + x] = comp === 0
              ? 0.299 * r + 0.587 * g + 0.114 * b - 128
              : comp === 1
              ? -0.168736 * r - 0.331264 * g + 0.5 * b
              : 0.5 * r - 0.418688 * g - 0.081312 * b;
          }
        }
        // tmp = DCT · block (columns), then F = tmp · DCTᵀ (rows).
        for (let u = 0; u < 8; u++) {
          for (let x = 0; x < 8; x++) {
            let s = 0;
            for (let y = 0; y < 8; y++) s += DCT[u * 8 + y] * block[y * 8 + x];
            tmp[u * 8 + x] = s;
          }
        }
        const q = qt[comp === 0 ? 0 : 1];
        for (let u = 0; u < 8; u++) {
          for (let v = 0; v < 8; v++) {
            let s = 0;
            for (let x = 0; x < 8; x++) s += tmp[u * 8 + x] * DCT[v * 8 + x];
            quant[u * 8 + v] = Math.round(s / q[u * 8 + v]);
          }
        }
        const t = comp === 0 ? 0 : 2;
        const dc = CODES[t], ac = CODES[t + 1];
        const diff = quant[0] - prevDc[comp];
        prevDc[comp] = quant[0];
        const dcSize = bitLength(diff);
        w.bits(dc.code[dcSize], dc.len[dcSize]);
        if (dcSize) w.bits(diff < 0 ? diff + (1 << dcSize) - 1 : diff, dcSize);
        let run = 0;
        for (let k = 1; k < 64; k++) {
          const v = quant[ZIGZAG[k]];
          if (v === 0) {
            run++;
            continue;
          }
          for (; run >= 16; run -= 16) w.bits(ac.code[0xf0], ac.len[0xf0]);
          const size = bitLength(v);
          const sym = (run << 4) | size;
          w.bits(ac.code[sym], ac.len[sym]);
          w.bits(v < 0 ? v + (1 << size) - 1 : v, size);
          run = 0;
        }
        if (run > 0) w.bits(ac.code[0], ac.len[0]);
      }
    }
  }
  w.flush();
  w.bytes([0xff, 0xd9]);
  return w.buf.slice(0, w.n);
}
