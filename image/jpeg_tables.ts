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
// AC symbols (run << 4 | size) in the Annex K order: first the irregular
// prefix, then regular blocks of (run, sizes from..10) for runs 8..15.
function acValues(
  prefix: number[],
  tailStart: number,
  sizesFrom: (run: number) => number,
): number[] {
  const out = [...prefix];
  for (let run = tailStart; run <= 15; run++) {
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
// deno-fmt-ignore
export const DC_LUMA: HuffSpec = {
  bits: [
  0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0,
],
  values: range(0, 11),
};
/** Chrominance DC Huffman table. */
// deno-fmt-ignore
export const DC_CHROMA: HuffSpec = {
  bits: [
  0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
],
  values: range(0, 11),
};
/** Luminance AC Huffman table. */
// deno-fmt-ignore
export const AC_LUMA: HuffSpec = {
  bits: [
  0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d,
],
  values: acValues(
    [
  0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
  0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
  0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
  0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
  0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
  0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
],
    8,
    (run) => run === 8 ? 3 : run >= 14 ? 1 : 2,
  ),
};
/** Chrominance AC Huffman table. */
// deno-fmt-ignore
export const AC_CHROMA: HuffSpec = {
  bits: [
  0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77,
],
  values: acValues(
    [
  0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
  0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
  0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
  0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
  0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
  0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
],
    8,
    () => 2,
  ),
};
