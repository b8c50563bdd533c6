/**
 * The three Winograd F(2×2, 3×3) transforms (see winograd.ts) and their
 * layout: JS loops, which are the fallback and the test reference of
 * simd/kernels.c's versions (same float32 operations in the same order, so
 * results are bit-identical), and heap wrappers that run the SIMD ones.
 */
import type * as tf from "@tensorflow/tfjs-core";
import { heapF32, simdKernels, type WasmBackendLike } from "./heap.ts";

type Info = tf.backend_util.Conv2DInfo;

/** The tile grid of a Winograd convolution (argument order of kernels.c). */
export interface Tiling {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  tilesH: number;
  tilesW: number;
  padTop: number;
  padLeft: number;
  /** Rows of each of the 16 V / M planes (≥ the tile count, see below). */
  planeTiles: number;
}

/** The tiling of a conv geometry (2×2 output blocks, edges partial). */
export function tilingOf(info: Info, planeTiles?: number): Tiling {
  const tilesH = Math.ceil(info.outHeight / 2);
  const tilesW = Math.ceil(info.outWidth / 2);
  const tiles = info.batchSize * tilesH * tilesW;
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    tilesH,
    tilesW,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    planeTiles: planeTiles ??
      paddedTiles(tiles, info.inChannels, info.outChannels),
  };
}

/**
 * Plane rows for `tiles` tiles: one more when a V or M plane would be a
 * multiple of 4 KiB, since the transforms touch all 16 planes at once and
 * addresses 2^k apart share a cache set (the extra GEMM row is ignored).
 */
export function paddedTiles(tiles: number, inC: number, outC: number): number {
  return (tiles * inC) % 1024 === 0 || (tiles * outC) % 1024 === 0
    ? tiles + 1
    : tiles;
}

/** Number of tiles T (rows of each of the 16 GEMMs). */
export function tileCount(t: Tiling): number {
  return t.batch * t.tilesH * t.tilesW;
}

/** kernels.c's `winograd_input` geometry arguments. */
export function inputArgs(t: Tiling): number[] {
  return [
    t.batch,
    t.inH,
    t.inW,
    t.inC,
    t.tilesH,
    t.tilesW,
    t.padTop,
    t.padLeft,
    t.planeTiles,
  ];
}

/** kernels.c's `winograd_output` (after bias, activation) geometry arguments. */
export function outputArgs(t: Tiling): number[] {
  return [t.batch, t.outH, t.outW, t.outC, t.tilesH, t.tilesW, t.planeTiles];
}

const f = Math.fround;

/** Bᵀ·(a, b, c, d) = (a − c, b + c, c − b, b − d) on p[o], p[o+s], ... */
function input1d(p: Float32Array, o: number, s: number): void {
  const a = p[o], b = p[o + s], c = p[o + 2 * s], d = p[o + 3 * s];
  p[o] = a - c;
  p[o + s] = b + c;
  p[o + 2 * s] = c - b;
  p[o + 3 * s] = b - d;
}

/** Aᵀ·(a, b, c, d) = (a + b + c, b − c − d) into p[o], p[o+s]. */
function output1d(p: Float32Array, o: number, s: number): void {
  const a = p[o], b = p[o + s], c = p[o + 2 * s], d = p[o + 3 * s];
  p[o] = f(a + b) + c;
  p[o + s] = f(b - c) - d;
}

/** G·(a, b, c) = (a, (a + c + b)·½, (a + c − b)·½, c) into q[r..r+3t]. */
function filter1d(
  p: Float32Array,
  o: number,
  s: number,
  q: Float32Array,
  r: number,
  t: number,
): void {
  const a = p[o], b = p[o + s], c = p[o + 2 * s], ac = f(a + c);
  q[r] = a;
  q[r + t] = f(ac + b) * 0.5;
  q[r + 2 * t] = f(ac - b) * 0.5;
  q[r + 3 * t] = c;
}

/** V = Bᵀ d B of every input tile of x (at `xOff`) into v [16, T, Cin]. */
export function winogradInput(
  h: Float32Array,
  xOff: number,
  vOff: number,
  t: Tiling,
): void {
  const C = t.inC, plane = t.planeTiles * C, d = new Float32Array(16);
  let out = vOff;
  for (let n = 0; n < t.batch; n++) {
    for (let ty = 0; ty < t.tilesH; ty++) {
      for (let tx = 0; tx < t.tilesW; tx++, out += C) {
        const y0 = 2 * ty - t.padTop, x0 = 2 * tx - t.padLeft;
        for (let c = 0; c < C; c++) {
          for (let k = 0; k < 16; k++) {
            const iy = y0 + (k >> 2), ix = x0 + (k & 3);
            const inside = iy >= 0 && iy < t.inH && ix >= 0 && ix < t.inW;
            d[k] = inside
              ? h[xOff + ((n * t.inH + iy) * t.inW + ix) * C + c]
              : 0;
          }
          for (let j = 0; j < 4; j++) input1d(d, j, 4);
          for (let i = 0; i < 4; i++) input1d(d, 4 * i, 1);
          for (let k = 0; k < 16; k++) h[out + k * plane + c] = d[k];
        }
      }
    }
  }
}

/** U = G g Gᵀ of the 3×3 filters g [9, n] (HWIO, n = Cin·Cout) into u [16, n]. */
export function winogradFilter(
  h: Float32Array,
  gOff: number,
  uOff: number,
  n: number,
): void {
  const w = new Float32Array(9), t = new Float32Array(12);
  const r = new Float32Array(16);
  for (let p = 0; p < n; p++) {
    for (let k = 0; k < 9; k++) w[k] = h[gOff + k * n + p];
    for (let j = 0; j < 3; j++) filter1d(w, j, 3, t, j, 3);
    for (let i = 0; i < 4; i++) filter1d(t, 3 * i, 1, r, 4 * i, 1);
    for (let k = 0; k < 16; k++) h[uOff + k * n + p] = r[k];
  }
}

/**
 * Y = Aᵀ M A of every tile of m [16, T, Cout] into the NHWC output at `yOff`,
 * plus the bias [Cout] at `biasOff` (null: none), then `activation` (0
 * linear, 1 relu, 2 relu6) as kernels.c's bias_activation.
 */
export function winogradOutput(
  h: Float32Array,
  mOff: number,
  yOff: number,
  t: Tiling,
  biasOff: number | null = null,
  activation = 0,
): void {
  const C = t.outC, plane = t.planeTiles * C, s = new Float32Array(16);
  let at = mOff;
  for (let n = 0; n < t.batch; n++) {
    for (let ty = 0; ty < t.tilesH; ty++) {
      for (let tx = 0; tx < t.tilesW; tx++, at += C) {
        const rows = Math.min(2, t.outH - 2 * ty);
        const cols = Math.min(2, t.outW - 2 * tx);
        const base = yOff + ((n * t.outH + 2 * ty) * t.outW + 2 * tx) * C;
        for (let c = 0; c < C; c++) {
          for (let k = 0; k < 16; k++) s[k] = h[at + k * plane + c];
          for (let j = 0; j < 4; j++) output1d(s, j, 4);
          for (let i = 0; i < 2; i++) output1d(s, 4 * i, 1);
          for (let i = 0; i < rows; i++) {
            for (let j = 0; j < cols; j++) {
              let v = s[4 * i + j];
              if (biasOff !== null) v = f(v + h[biasOff + c]);
              if (activation >= 1) v = Math.max(v, 0);
              if (activation === 2) v = Math.min(v, 6);
              h[base + (i * t.outW + j) * C + c] = v;
            }
          }
        }
      }
    }
  }
}

/** (a, b) → (a, a + b, a − b, −b) from p[o], p[o+s] into p[o..o+3s]. */
function outputGrad1d(p: Float32Array, o: number, s: number): void {
  const a = p[o], b = p[o + s];
  p[o + s] = a + b;
  p[o + 2 * s] = a - b;
  p[o + 3 * s] = -b;
}

/** dM = A dY Aᵀ of every 2×2 block of dy (at `dyOff`) into dm [16, T, Cout]. */
export function winogradOutputGrad(
  h: Float32Array,
  dyOff: number,
  dmOff: number,
  t: Tiling,
): void {
  const C = t.outC, plane = t.planeTiles * C, s = new Float32Array(16);
  let out = dmOff;
  for (let n = 0; n < t.batch; n++) {
    for (let ty = 0; ty < t.tilesH; ty++) {
      for (let tx = 0; tx < t.tilesW; tx++, out += C) {
        const rows = Math.min(2, t.outH - 2 * ty);
        const cols = Math.min(2, t.outW - 2 * tx);
        const base = dyOff + ((n * t.outH + 2 * ty) * t.outW + 2 * tx) * C;
        for (let c = 0; c < C; c++) {
          for (const k of [0, 1, 4, 5]) {
            const i = k >> 2, j = k & 3;
            s[k] = i < rows && j < cols
              ? h[base + (i * t.outW + j) * C + c]
              : 0;
          }
          outputGrad1d(s, 0, 1);
          outputGrad1d(s, 4, 1);
          for (let j = 0; j < 4; j++) outputGrad1d(s, j, 4);
          for (let k = 0; k < 16; k++) h[out + k * plane + c] = s[k];
        }
      }
    }
  }
}

/** dg = Gᵀ dU G of du [16, n] into the 3×3 filter gradient dg [9, n]. */
export function winogradFilterGrad(
  h: Float32Array,
  duOff: number,
  dgOff: number,
  n: number,
): void {
  const r = new Float32Array(16), t = new Float32Array(12);
  const w = new Float32Array(9);
  // Gᵀ·(a, b, c, d) = (a + (b + c)·½, (b − c)·½, (b + c)·½ + d)
  const grad1d = (
    p: Float32Array,
    o: number,
    s: number,
    q: Float32Array,
    at: number,
    step: number,
  ) => {
    const a = p[o], b = p[o + s], c = p[o + 2 * s], d = p[o + 3 * s];
    const sum = f(f(b + c) * 0.5);
    q[at] = a + sum;
    q[at + step] = f(b - c) * 0.5;
    q[at + 2 * step] = sum + d;
  };
  for (let p = 0; p < n; p++) {
    for (let k = 0; k < 16; k++) r[k] = h[duOff + k * n + p];
    for (let j = 0; j < 4; j++) grad1d(r, j, 4, t, j, 4);
    for (let i = 0; i < 3; i++) grad1d(t, 4 * i, 1, w, 3 * i, 1);
    for (let k = 0; k < 9; k++) h[dgOff + k * n + p] = w[k];
  }
}

/** {@link winogradInput} of heap tensors (float offsets), SIMD when available. */
export function heapWinogradInput(
  backend: WasmBackendLike,
  xOff: number,
  vOff: number,
  t: Tiling,
): void {
  const simd = simdKernels(backend);
  if (simd) simd.winograd_input(xOff * 4, vOff * 4, ...inputArgs(t));
  else winogradInput(heapF32(backend), xOff, vOff, t);
}

/** {@link winogradFilter} of heap tensors (float offsets), SIMD when available. */
export function heapWinogradFilter(
  backend: WasmBackendLike,
  gOff: number,
  uOff: number,
  n: number,
): void {
  const simd = simdKernels(backend);
  if (simd) simd.winograd_filter(gOff * 4, uOff * 4, n);
  else winogradFilter(heapF32(backend), gOff, uOff, n);
}

/** {@link winogradOutput} of heap tensors (float offsets), SIMD when available. */
export function heapWinogradOutput(
  backend: WasmBackendLike,
  mOff: number,
  yOff: number,
  t: Tiling,
  biasOff: number | null = null,
  activation = 0,
): void {
  const simd = simdKernels(backend);
  if (simd) {
    const bias = biasOff === null ? 0 : biasOff * 4;
    simd.winograd_output(
      mOff * 4,
      yOff * 4,
      bias,
      activation,
      ...outputArgs(t),
    );
  } else {
    winogradOutput(heapF32(backend), mOff, yOff, t, biasOff, activation);
  }
}

/** {@link winogradOutputGrad} of heap tensors, SIMD when available. */
export function heapWinogradOutputGrad(
  backend: WasmBackendLike,
  dyOff: number,
  dmOff: number,
  t: Tiling,
): void {
  const simd = simdKernels(backend);
  if (simd) simd.winograd_output_grad(dyOff * 4, dmOff * 4, ...outputArgs(t));
  else winogradOutputGrad(heapF32(backend), dyOff, dmOff, t);
}

/** {@link winogradFilterGrad} of heap tensors, SIMD when available. */
export function heapWinogradFilterGrad(
  backend: WasmBackendLike,
  duOff: number,
  dgOff: number,
  n: number,
): void {
  const simd = simdKernels(backend);
  if (simd) simd.winograd_filter_grad(duOff * 4, dgOff * 4, n);
  else winogradFilterGrad(heapF32(backend), duOff, dgOff, n);
}
