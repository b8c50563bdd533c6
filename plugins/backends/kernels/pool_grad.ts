/**
 * MaxPoolGrad on the heap: routes each output gradient to the first maximum
 * of its window (the tfjs cpu backend's rule). simd/kernels.c does it four
 * channels at a time; the JS loop below is its fallback and test reference.
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  alloc,
  allocZeros,
  heapF32,
  heapKernel,
  offsetOf,
  requireFloat,
  simdKernels,
  type WasmBackendLike,
  type WasmKernelArgs,
} from "./heap.ts";
import { convGeometry } from "./im2col.ts";

/** The geometry of a 2-D max pool of `input` with MaxPoolGrad's `attrs`. */
export function poolInfo(
  input: tf.TensorInfo,
  attrs: tf.NamedAttrMap,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize as [number, number],
    attrs.strides as [number, number],
    1,
    attrs.pad as "same",
    attrs.dimRoundingMode as "floor" | undefined,
  );
}

/** Gradient of a 2-D max pool with respect to its input. */
export function maxPoolGradImpl(
  backend: WasmBackendLike,
  dy: tf.TensorInfo,
  input: tf.TensorInfo,
  attrs: tf.NamedAttrMap,
): tf.TensorInfo {
  requireFloat("MaxPoolGrad", dy, input);
  const info = poolInfo(input, attrs);
  const simd = simdKernels(backend);
  // The SIMD kernel zeroes dx itself, row by row as it reaches them.
  const dx = simd
    ? alloc(backend, input.shape)
    : allocZeros(backend, input.shape);
  const xOff = offsetOf(backend, input), dyOff = offsetOf(backend, dy);
  const dxOff = offsetOf(backend, dx);
  if (simd) {
    simd.max_pool_grad(xOff * 4, dyOff * 4, dxOff * 4, ...convGeometry(info));
  } else {
    maxPoolGrad(heapF32(backend), xOff, dyOff, dxOff, info);
  }
  return dx;
}

/**
 * Adds each output gradient at `dyOff` to the first maximum of its window
 * of the NHWC input at `xOff`, into the zeroed `dxOff` (float offsets).
 */
export function maxPoolGrad(
  h: Float32Array,
  xOff: number,
  dyOff: number,
  dxOff: number,
  info: tf.backend_util.Conv2DInfo,
): void {
  const N = info.batchSize, H = info.inHeight, W = info.inWidth;
  const C = info.inChannels;
  const best = new Float32Array(C);
  const where = new Int32Array(C);
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < info.outHeight; oy++) {
      const y0 = oy * info.strideHeight - info.padInfo.top;
      for (let ox = 0; ox < info.outWidth; ox++) {
        const x0 = ox * info.strideWidth - info.padInfo.left;
        // The first in-bounds tap seeds best/where, so the hot loop needs
        // only the strict comparison (first maximum wins, as before).
        let seeded = false;
        for (let ky = 0; ky < info.filterHeight; ky++) {
          const iy = y0 + ky * info.dilationHeight;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < info.filterWidth; kx++) {
            const ix = x0 + kx * info.dilationWidth;
            if (ix < 0 || ix >= W) continue;
            const base = ((n * H + iy) * W + ix) * C;
            const src = xOff + base;
            if (!seeded) {
              seeded = true;
              for (let c = 0; c < C; c++) {
                best[c] = h[src + c];
                where[c] = base + c;
              }
              continue;
            }
            for (let c = 0; c < C; c++) {
              const v = h[src + c];
              if (v > best[c]) {
                best[c] = v;
                where[c] = base + c;
              }
            }
          }
        }
        if (!seeded) continue;
        const g = dyOff + ((n * info.outHeight + oy) * info.outWidth + ox) * C;
        for (let c = 0; c < C; c++) h[dxOff + where[c]] += h[g + c];
      }
    }
  }
}

/** The MaxPoolGrad kernel config for `backendName`. */
export function poolGradKernels(backendName: string): tf.KernelConfig[] {
  return [
    heapKernel(
      "MaxPoolGrad",
      backendName,
      ({ inputs, backend, attrs }: WasmKernelArgs) =>
        maxPoolGradImpl(
          backend,
          inputs.dy,
          inputs.input,
          attrs ?? {},
        ),
    ),
  ];
}
