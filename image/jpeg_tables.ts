/**
 * The standard JPEG tables of ITU T.81 Annex K: zigzag order, example
 * quantisation tables, and the typical Huffman tables. Data only.
 */

/** Natural (row-major) index of each zigzag position. */
// deno-fmt-ignore
export const ZIGZAG: Uint8Array = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13,
  6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45,
  38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]);

/** Luminance quantisation table (quality 50), natural order. */
// deno-fmt-ignore
export const LUMA_Q: number[] = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14,
  17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49,
  64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
/** Chrominance quantisation table (quality 50), natural order. */
// deno-fmt-ignore
export const CHROMA_Q: number[] = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47,
  66, 99, 99, 99, 99, 99, 99, ...new Array(32).fill(99),
];

/** Run of values `a..b` inclusive, for the Huffman value lists. */
const range = (a: number, b: number) =>
  Array.from({ length: b - a + 1 }, (_, i) => a + i);
/** Bytes written as two hex digits each. */
const hexBytes = (hex: string) =>
  Array.from(
    { length: hex.length / 2 },
    (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16),
  );
// AC symbols (run << 4 | size) in the Annex K order: first the irregular
// prefix, then regular blocks of (run, sizes from..10) for runs 8..15.
function acValues(
  prefix: number[],
  sizesFrom: (run: number) => number,
): number[] {
  const out = [...prefix];
  for (let run = 8; run <= 15; run++) {
    for (let s = sizesFrom(run); s <= 10; s++) out.push((run << 4) | s);
  }
  return out;
}

/** A Huffman table as stored in DHT: code counts per length 1..16, symbols. */
export interface HuffSpec {
  /** Number of codes of each length 1..16. */
  bits: number[];
  /** Symbols in code order. */
  values: number[];
}

/** Luminance DC Huffman table. */
export const DC_LUMA: HuffSpec = {
  bits: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
  values: range(0, 11),
};
/** Chrominance DC Huffman table. */
export const DC_CHROMA: HuffSpec = {
  bits: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
  values: range(0, 11),
};
// The AC tables' irregular prefixes (Annex K.3.2, runs 0..7), one byte in two
// hex digits each; runs 8..15 follow as regular blocks (see acValues).
// deno-fmt-ignore
const AC_LUMA_PREFIX = "01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a";
// deno-fmt-ignore
const AC_CHROMA_PREFIX = "000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35363738393a434445464748494a535455565758595a636465666768696a737475767778797a";
/** Luminance AC Huffman table. */
export const AC_LUMA: HuffSpec = {
  bits: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
  values: acValues(
    hexBytes(AC_LUMA_PREFIX),
    (run) => run === 8 ? 3 : run >= 14 ? 1 : 2,
  ),
};
/** Chrominance AC Huffman table. */
export const AC_CHROMA: HuffSpec = {
  bits: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
  values: acValues(hexBytes(AC_CHROMA_PREFIX), () => 2),
};
