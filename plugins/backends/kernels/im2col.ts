/**
 * im2col / col2im on a float heap, for NHWC convolutions. A column row holds
 * one output pixel's receptive field in filter order (ky, kx, c), so that
 * `col [N·OH·OW, KH·KW·C] · filter [KH·KW·C, Cout]` is the convolution.
 * The heap versions run simd/kernels.c compiled to SIMD wasm on the backend's own
 * memory; the JS loops below are their fallback and test reference, where
 * contiguous runs are moved with `copyWithin` (a memmove inside the heap).
 */
import type * as tf from "@tensorflow/tfjs-core";
import { heapF32, simdKernels, type WasmBackendLike } from "./heap.ts";

type Info = tf.backend_util.Conv2DInfo;

/** True when the column matrix of `info` is the NHWC input itself. */
export function isPointwise(info: Info): boolean {
  const p = info.padInfo;
  return info.filterHeight === 1 && info.filterWidth === 1 &&
    info.strideHeight === 1 && info.strideWidth === 1 &&
    p.top === 0 && p.left === 0 && p.bottom === 0 && p.right === 0;
}

/**
 * Copies `len` floats inside the heap. copyWithin is a runtime call costing
 * ~40 ns whatever the length, so short runs (a 7×7 stem conv has C = 3) are
 * cheaper as a plain loop.
 */
function copyRun(h: Float32Array, dst: number, src: number, len: number): void {
  if (len >= 32) {
    h.copyWithin(dst, src, src + len);
    return;
  }
  for (let i = 0; i < len; i++) h[dst + i] = h[src + i];
}

/** Writes the column matrix of input `x` (at `xOff`) to `colOff`. */
export function im2col(
  h: Float32Array,
  xOff: number,
  colOff: number,
  info: Info,
): void {
  const C = info.inChannels, H = info.inHeight, W = info.inWidth;
  const KH = info.filterHeight, KW = info.filterWidth;
  const sh = info.strideHeight, sw = info.strideWidth;
  const dh = info.dilationHeight, dw = info.dilationWidth;
  const pt = info.padInfo.top, pl = info.padInfo.left;
  const runLen = KW * C;
  let dst = colOff;
  for (let n = 0; n < info.batchSize; n++) {
    for (let oy = 0; oy < info.outHeight; oy++) {
      for (let ox = 0; ox < info.outWidth; ox++) {
        const ix0 = ox * sw - pl;
        const rowInside = ix0 >= 0 && ix0 + (KW - 1) * dw < W;
        for (let ky = 0; ky < KH; ky++) {
          const iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= H) {
            h.fill(0, dst, dst + runLen);
            dst += runLen;
            continue;
          }
          const rowBase = xOff + (n * H + iy) * W * C;
          if (rowInside && dw === 1) {
            // the whole kx range is one contiguous run in NHWC
            copyRun(h, dst, rowBase + ix0 * C, runLen);
            dst += runLen;
            continue;
          }
          for (let kx = 0; kx < KW; kx++) {
            const ix = ix0 + kx * dw;
            if (ix < 0 || ix >= W) {
              h.fill(0, dst, dst + C);
            } else {
              copyRun(h, dst, rowBase + ix * C, C);
            }
            dst += C;
          }
        }
      }
    }
  }
}

/** Adds the column matrix at `colOff` back onto the image at `xOff`. */
export function col2im(
  h: Float32Array,
  colOff: number,
  xOff: number,
  info: Info,
): void {
  const C = info.inChannels, H = info.inHeight, W = info.inWidth;
  const KH = info.filterHeight, KW = info.filterWidth;
  const sh = info.strideHeight, sw = info.strideWidth;
  const dh = info.dilationHeight, dw = info.dilationWidth;
  const pt = info.padInfo.top, pl = info.padInfo.left;
  const runLen = KW * C;
  let src = colOff;
  for (let n = 0; n < info.batchSize; n++) {
    for (let oy = 0; oy < info.outHeight; oy++) {
      for (let ox = 0; ox < info.outWidth; ox++) {
        const ix0 = ox * sw - pl;
        const rowInside = ix0 >= 0 && ix0 + (KW - 1) * dw < W;
        for (let ky = 0; ky < KH; ky++) {
          const iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= H) {
            src += runLen;
            continue;
          }
          const rowBase = xOff + (n * H + iy) * W * C;
          if (rowInside && dw === 1) {
            const dst = rowBase + ix0 * C;
            for (let i = 0; i < runLen; i++) h[dst + i] += h[src + i];
            src += runLen;
            continue;
          }
          for (let kx = 0; kx < KW; kx++) {
            const ix = ix0 + kx * dw;
            if (ix >= 0 && ix < W) {
              const dst = rowBase + ix * C;
              for (let c = 0; c < C; c++) h[dst + c] += h[src + c];
            }
            src += C;
          }
        }
      }
    }
  }
}

/** What simd/kernels.c needs of a conv or pool geometry. */
export type WindowGeometry = Pick<
  Info,
  | "batchSize"
  | "inHeight"
  | "inWidth"
  | "inChannels"
  | "outHeight"
  | "outWidth"
  | "filterHeight"
  | "filterWidth"
  | "strideHeight"
  | "strideWidth"
  | "dilationHeight"
  | "dilationWidth"
  | "padInfo"
>;

/** Conv or pool geometry in the argument order of simd/kernels.c. */
export function convGeometry(info: WindowGeometry): number[] {
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}

/** {@link im2col} on heap tensors (float offsets), SIMD when available. */
export function heapIm2col(
  backend: WasmBackendLike,
  xOff: number,
  colOff: number,
  info: Info,
): void {
  const simd = simdKernels(backend);
  if (simd) simd.im2col(xOff * 4, colOff * 4, ...convGeometry(info));
  else im2col(heapF32(backend), xOff, colOff, info);
}

/** {@link col2im} on heap tensors (float offsets), SIMD when available. */
export function heapCol2im(
  backend: WasmBackendLike,
  colOff: number,
  xOff: number,
  info: Info,
): void {
  const simd = simdKernels(backend);
  if (simd) simd.col2im(colOff * 4, xOff * 4, ...convGeometry(info));
  else col2im(heapF32(backend), colOff, xOff, info);
}
