/**
 * Depthwise convolution gradients for heap backends.
 * - Input gradient is rewritten as a forward depthwise convolution (run by
 *   the backend's own fast DepthwiseConv2dNative): zero-insert dy by the
 *   stride, pad it by (effective kernel - 1 - pad), correlate with the
 *   spatially flipped filter, and sum over the channel multiplier.
 * - Filter gradient: with channel multiplier 1 a SIMD kernel
 *   (simd/kernels.c `depthwise_filter_grad`: per tap and 16 channels, the
 *   sum over all pixels in registers), 10× faster than the JS loop that
 *   runs otherwise (one pass over dy, channels innermost, float64 sums).
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  alloc,
  allocZeros,
  callKernel,
  free,
  heapF32,
  heapKernel,
  offsetOf,
  requireFloat,
  reshaped,
  simdKernels,
  type WasmBackendLike,
  type WasmKernelArgs,
} from "./heap.ts";
import { convGeometry } from "./im2col.ts";

/** tfjs' conv info of a depthwise convolution from kernel attributes. */
export function depthwiseInfo(
  xShape: number[],
  filterShape: number[],
  attrs: tf.NamedAttrMap,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number],
    (attrs.dilations ?? 1) as [number, number],
    attrs.pad as "same",
    attrs.dimRoundingMode as "floor" | undefined,
    true,
  );
}

/** DepthwiseConv2dNativeBackpropInput via a forward depthwise convolution. */
export function depthwiseBackpropInputImpl(
  backendName: string,
  backend: WasmBackendLike,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: tf.NamedAttrMap,
): tf.TensorInfo {
  requireFloat("DepthwiseConv2dNativeBackpropInput", dy, filter);
  const inputShape = attrs.inputShape as number[];
  const info = depthwiseInfo(inputShape, filter.shape, attrs);
  const [N, H, W, C] = inputShape;
  const CM = info.outChannels, mult = CM / C;
  const KH = info.filterHeight, KW = info.filterWidth;
  const padTop = info.effectiveFilterHeight - 1 - info.padInfo.top;
  const padLeft = info.effectiveFilterWidth - 1 - info.padInfo.left;
  const Hp = H + info.effectiveFilterHeight - 1;
  const Wp = W + info.effectiveFilterWidth - 1;
  const padded = allocZeros(backend, [N, Hp, Wp, CM]);
  const flipped = alloc(backend, [KH, KW, CM, 1]);
  const h = heapF32(backend);
  const dyOff = offsetOf(backend, dy), pOff = offsetOf(backend, padded);
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < info.outHeight; oy++) {
      const py = padTop + oy * info.strideHeight;
      if (py < 0 || py >= Hp) continue;
      for (let ox = 0; ox < info.outWidth; ox++) {
        const px = padLeft + ox * info.strideWidth;
        if (px < 0 || px >= Wp) continue;
        const src = dyOff +
          ((n * info.outHeight + oy) * info.outWidth + ox) * CM;
        h.copyWithin(pOff + ((n * Hp + py) * Wp + px) * CM, src, src + CM);
      }
    }
  }
  const fOff = offsetOf(backend, filter), gOff = offsetOf(backend, flipped);
  for (let ky = 0; ky < KH; ky++) {
    for (let kx = 0; kx < KW; kx++) {
      const src = fOff + ((KH - 1 - ky) * KW + (KW - 1 - kx)) * CM;
      h.copyWithin(gOff + (ky * KW + kx) * CM, src, src + CM);
    }
  }
  const full = callKernel(
    backendName,
    "DepthwiseConv2dNative",
    backend,
    { x: padded, filter: flipped },
    {
      strides: [1, 1],
      pad: "valid",
      dilations: [info.dilationHeight, info.dilationWidth],
    },
  );
  free(backend, padded);
  free(backend, flipped);
  if (mult === 1) return full;
  const split = reshaped(backendName, backend, full, [N, H, W, C, mult]);
  free(backend, full);
  const dx = callKernel(backendName, "Sum", backend, { x: split }, {
    axis: [4],
    keepDims: false,
  });
  free(backend, split);
  return dx;
}

/** DepthwiseConv2dNativeBackpropFilter, one pass over dy. */
export function depthwiseBackpropFilterImpl(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  attrs: tf.NamedAttrMap,
): tf.TensorInfo {
  requireFloat("DepthwiseConv2dNativeBackpropFilter", x, dy);
  const filterShape = attrs.filterShape as number[];
  const info = depthwiseInfo(x.shape, filterShape, attrs);
  const [N, H, W, C] = x.shape;
  const CM = info.outChannels, mult = CM / C;
  const KH = info.filterHeight, KW = info.filterWidth;
  const out = alloc(backend, filterShape);
  const simd = simdKernels(backend);
  if (simd && mult === 1) {
    simd.depthwise_filter_grad(
      offsetOf(backend, x) * 4,
      offsetOf(backend, dy) * 4,
      offsetOf(backend, out) * 4,
      ...convGeometry(info),
    );
    return out;
  }
  const acc = new Float64Array(KH * KW * CM);
  const h = heapF32(backend);
  const xOff = offsetOf(backend, x), dyOff = offsetOf(backend, dy);
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < info.outHeight; oy++) {
      for (let ox = 0; ox < info.outWidth; ox++) {
        const dyb = dyOff +
          ((n * info.outHeight + oy) * info.outWidth + ox) * CM;
        for (let ky = 0; ky < KH; ky++) {
          const iy = oy * info.strideHeight - info.padInfo.top +
            ky * info.dilationHeight;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < KW; kx++) {
            const ix = ox * info.strideWidth - info.padInfo.left +
              kx * info.dilationWidth;
            if (ix < 0 || ix >= W) continue;
            const xb = xOff + ((n * H + iy) * W + ix) * C;
            const wb = (ky * KW + kx) * CM;
            if (mult === 1) {
              for (let c = 0; c < C; c++) acc[wb + c] += h[xb + c] * h[dyb + c];
            } else {
              for (let c = 0; c < C; c++) {
                const xv = h[xb + c];
                const o = c * mult;
                for (let m = 0; m < mult; m++) {
                  acc[wb + o + m] += xv * h[dyb + o + m];
                }
              }
            }
          }
        }
      }
    }
  }
  heapF32(backend).set(acc, offsetOf(backend, out));
  return out;
}

/** Kernel configs for both depthwise gradients on `backendName`. */
export function depthwiseGradKernels(backendName: string): tf.KernelConfig[] {
  return [
    heapKernel(
      "DepthwiseConv2dNativeBackpropInput",
      backendName,
      ({ inputs, backend, attrs }: WasmKernelArgs) =>
        depthwiseBackpropInputImpl(
          backendName,
          backend,
          inputs.dy,
          inputs.filter,
          attrs ?? {},
        ),
    ),
    heapKernel(
      "DepthwiseConv2dNativeBackpropFilter",
      backendName,
      ({ inputs, backend, attrs }: WasmKernelArgs) =>
        depthwiseBackpropFilterImpl(
          backend,
          inputs.x,
          inputs.dy,
          attrs ?? {},
        ),
    ),
  ];
}
