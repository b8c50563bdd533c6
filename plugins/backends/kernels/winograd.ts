/**
 * Winograd F(2×2, 3×3) for 3×3, stride-1, dilation-1 convolutions: each
 * 2×2 output block comes from a 4×4 input tile as Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A,
 * so the GEMM work is 16 products per 4 outputs instead of 36 (2.25× fewer
 * flops than im2col + GEMM):
 *   V [16, T, Cin]  = Bᵀ d B of every tile (T = batch · tilesH · tilesW,
 *                     plus a padding row, see paddedTiles)
 *   U [16, Cin, Cout] = G g Gᵀ of the filter
 *   M [16, T, Cout] = V · U, one BatchMatMul of the backend (16 GEMMs)
 *   Y [N, H, W, Cout] = Aᵀ M A, edge tiles cropped.
 * The transforms run as simd/kernels.c on the heap; the JS loops below are
 * their fallback and test reference (same float32 operations in the same
 * order, so results are bit-identical). `SELFTRAIN_WINOGRAD=0` turns the
 * path off.
 */
import type * as tf from "@tensorflow/tfjs-core";
import {
  alloc,
  callKernel,
  free,
  hasData,
  heapF32,
  offsetOf,
  simdKernels,
  type WasmBackendLike,
} from "./heap.ts";
import { recordingGradients } from "./column_cache.ts";
import { simdAvailable } from "./simd/mod.ts";

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

/** kernels.c's `winograd_output` geometry arguments. */
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

/** Y = Aᵀ M A of every tile of m [16, T, Cout] into the NHWC output at `yOff`. */
export function winogradOutput(
  h: Float32Array,
  mOff: number,
  yOff: number,
  t: Tiling,
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
              h[base + (i * t.outW + j) * C + c] = s[4 * i + j];
            }
          }
        }
      }
    }
  }
}

function envDisabled(): boolean {
  try {
    return Deno.env.get("SELFTRAIN_WINOGRAD") === "0";
  } catch {
    return false; // no --allow-env: keep the default
  }
}

let enabled: boolean | undefined;

/** Turns the Winograd path on or off; returns the previous setting. */
export function setWinogradEnabled(on: boolean): boolean {
  const before = winogradEnabled();
  enabled = on;
  return before;
}

/** Whether the Winograd path is on (default on; `SELFTRAIN_WINOGRAD=0`). */
export function winogradEnabled(): boolean {
  enabled ??= !envDisabled();
  return enabled;
}

const allowed = new Set<string>();

/**
 * Lets convolutions of the tfjs backend `backendName` take the Winograd
 * path. Only for a backend whose BatchMatMul is fast on 16 batched GEMMs:
 * native's BLAS is; the wasm backend's XNNPACK one made dx of ResNet-18's
 * first stages 2× slower, so `wasm` does not opt in.
 */
export function allowWinograd(backendName: string): void {
  allowed.add(backendName);
}

/**
 * Whether `info` takes the Winograd path on `backendName`. Below 16 channels either way the
 * GEMMs are too thin for the 2.25× flop saving to beat the transforms'
 * memory traffic, and such layers are a negligible share of a network's
 * time. Not while a gradient tape records: the filter gradient would then
 * rebuild the im2col columns that the forward pass otherwise hands it (see
 * column_cache.ts) and the filter transform could not be cached, which
 * measured slower than im2col + GEMM on every ResNet-18 stage. The stride-1
 * input gradient (a forward conv of dy, run after the tape) still uses it.
 * Not without the SIMD kernels either: the JS transforms made a 32×32×64
 * conv 2.5× slower than im2col + GEMM.
 */
export function useWinograd(info: Info, backendName: string): boolean {
  return allowed.has(backendName) && winogradEnabled() && simdAvailable() &&
    !recordingGradients() &&
    info.filterHeight === 3 &&
    info.filterWidth === 3 && info.strideHeight === 1 &&
    info.strideWidth === 1 && info.dilationHeight === 1 &&
    info.dilationWidth === 1 && info.inChannels >= 16 &&
    info.outChannels >= 16;
}

/** Counters for tests and benchmarks. */
export interface WinogradStats {
  /** Convolutions that took the Winograd path. */
  convs: number;
  /** Filter transforms computed (cache misses and training calls). */
  filterTransforms: number;
  /** Transformed filters held by the inference cache now. */
  cachedFilters: number;
  /** Bytes those hold. */
  cachedBytes: number;
}

const counts = { convs: 0, filterTransforms: 0 };

interface Cached {
  backend: WasmBackendLike;
  dataId: object;
  u: tf.TensorInfo;
  bytes: number;
}

/** Transformed filters by the filter's dataId (insertion order = age). */
const filterCache = new Map<object, Cached>();
let cachedBytes = 0;
/** Most bytes of transformed filters held (ResNet-18 needs ~80 MB). */
const CACHE_BUDGET_BYTES = 256 * 2 ** 20;

function dropCached(e: Cached): void {
  filterCache.delete(e.dataId);
  cachedBytes -= e.bytes;
  free(e.backend, e.u);
}

/** Frees every cached filter transform (and those of dead filters). */
export function clearWinogradCache(): void {
  for (const e of [...filterCache.values()]) dropCached(e);
}

/** The current counters. */
export function winogradStats(): WinogradStats {
  return { ...counts, cachedFilters: filterCache.size, cachedBytes };
}

function transformFilter(
  backend: WasmBackendLike,
  filter: tf.TensorInfo,
  t: Tiling,
): tf.TensorInfo {
  counts.filterTransforms++;
  const n = t.inC * t.outC;
  const u = alloc(backend, [16, t.inC, t.outC]);
  const simd = simdKernels(backend);
  const g = offsetOf(backend, filter), at = offsetOf(backend, u);
  if (simd) simd.winograd_filter(g * 4, at * 4, n);
  else winogradFilter(heapF32(backend), g, at, n);
  return u;
}

/**
 * U for `filter`: while no gradient tape records and `cacheable`, kept by
 * the filter's dataId (a variable gets a new dataId on every assign; a
 * disposed filter's entry is freed on the next lookup). Returns whether the
 * caller owns (frees) it.
 */
function filterTransform(
  backend: WasmBackendLike,
  filter: tf.TensorInfo,
  t: Tiling,
  cacheable: boolean,
): [tf.TensorInfo, boolean] {
  for (const e of [...filterCache.values()]) {
    if (!hasData(e.backend, e.dataId)) dropCached(e);
  }
  if (!cacheable || recordingGradients()) {
    return [transformFilter(backend, filter, t), true];
  }
  const dataId = filter.dataId as object;
  const hit = filterCache.get(dataId);
  if (hit && hit.backend === backend) return [hit.u, false];
  const u = transformFilter(backend, filter, t);
  const bytes = 64 * t.inC * t.outC;
  if (bytes > CACHE_BUDGET_BYTES) return [u, true];
  for (const e of filterCache.values()) {
    if (cachedBytes + bytes <= CACHE_BUDGET_BYTES) break;
    dropCached(e);
  }
  filterCache.set(dataId, { backend, dataId, u, bytes });
  cachedBytes += bytes;
  return [u, false];
}

/**
 * Conv2D forward by Winograd F(2×2, 3×3) for a geometry that passed
 * {@link useWinograd}; the GEMMs are `backendName`'s BatchMatMul. With
 * `cacheable` false (a filter made for this call only) U is never cached.
 */
export function winogradConv2d(
  backendName: string,
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: Info,
  cacheable = true,
): tf.TensorInfo {
  counts.convs++;
  const t = tilingOf(info), P = t.planeTiles, T = tileCount(t);
  const simd = simdKernels(backend);
  const v = alloc(backend, [16, P, t.inC]);
  const xOff = offsetOf(backend, x), vOff = offsetOf(backend, v);
  for (let k = 0; k < 16 && P > T; k++) {
    const at = vOff + (k * P + T) * t.inC;
    heapF32(backend).fill(0, at, at + (P - T) * t.inC);
  }
  if (simd) simd.winograd_input(xOff * 4, vOff * 4, ...inputArgs(t));
  else winogradInput(heapF32(backend), xOff, vOff, t);
  const [u, owned] = filterTransform(backend, filter, t, cacheable);
  const m = callKernel(backendName, "BatchMatMul", backend, { a: v, b: u }, {
    transposeA: false,
    transposeB: false,
  });
  free(backend, v);
  if (owned) free(backend, u);
  const y = alloc(backend, info.outShape);
  const mOff = offsetOf(backend, m), yOff = offsetOf(backend, y);
  if (simd) simd.winograd_output(mOff * 4, yOff * 4, ...outputArgs(t));
  else winogradOutput(heapF32(backend), mOff, yOff, t);
  free(backend, m);
  return y;
}
