/**
 * Conv2D and its two gradients as im2col + one GEMM, parameterised by the
 * GEMM so the same code runs on the wasm backend's XNNPACK matmul and on a
 * system BLAS:
 *   forward:        out[M,Cout] = col(x)[M,K] · W[K,Cout]
 *   backprop input: dx = col2im(dy[M,Cout] · W[K,Cout]ᵀ)
 *   backprop filter: dW[K,Cout] = col(x)[M,K]ᵀ · dy[M,Cout]
 * While a gradient tape records, the forward columns are kept for the
 * filter gradient (see column_cache.ts). 3×3 stride-1 convs go to
 * winograd.ts where it pays.
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  alloc,
  allocZeros,
  free,
  heapF32,
  heapKernel,
  offsetOf,
  requireFloat,
  reshaped,
  type WasmBackendLike,
  type WasmKernelArgs,
} from "./heap.ts";
import { keepColumns, takeColumns } from "./column_cache.ts";
import {
  applyEpilogue,
  biasActivation,
  type Epilogue,
  simpleEpilogue,
} from "./epilogue.ts";
import { heapCol2im, heapIm2col, isPointwise } from "./im2col.ts";
import * as winograd from "./winograd.ts";

/**
 * A 2-D GEMM on heap tensors: returns op(a)·op(b) as a new [rows, cols]
 * tensor. `a` and `b` are rank-2.
 */
export type MatMul = (
  backend: WasmBackendLike,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transA: boolean,
  transB: boolean,
) => tf.TensorInfo;

type Info = tf.backend_util.Conv2DInfo;

export function requireNhwc(kernel: string, attrs: tf.NamedAttrMap): void {
  const f = attrs.dataFormat as string | undefined;
  if (f != null && f !== "NHWC" && f !== "channelsLast") {
    throw new Error(
      `plugins/backends: ${kernel} supports NHWC only, got dataFormat ${f}`,
    );
  }
}

export function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: tf.NamedAttrMap,
): Info {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number],
    (attrs.dilations ?? 1) as [number, number],
    attrs.pad as "same",
    attrs.dimRoundingMode as "floor" | undefined,
    false,
    "channelsLast",
  );
}

/** What makes two convolutions of one input share columns. */
function geometryKey(info: Info): string {
  const p = info.padInfo;
  return [
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    p.top,
    p.left,
    p.bottom,
    p.right,
  ].join(",");
}

/**
 * The column matrix of `x` for `info` (a view of x when pointwise); with
 * `cached`, the forward pass's columns when the column cache kept them.
 */
function columns(
  backendName: string,
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  info: Info,
  cached = false,
): tf.TensorInfo {
  const M = info.batchSize * info.outHeight * info.outWidth;
  const K = info.filterHeight * info.filterWidth * info.inChannels;
  if (isPointwise(info)) return reshaped(backendName, backend, x, [M, K]);
  const kept = cached ? takeColumns(x, geometryKey(info)) : null;
  if (kept) return kept;
  const col = alloc(backend, [M, K]);
  heapIm2col(backend, offsetOf(backend, x), offsetOf(backend, col), info);
  return col;
}

function withShape(t: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

/**
 * Conv2D forward for NHWC input and HWIO filter: Winograd for the 3×3
 * stride-1 shapes where it pays (see winograd.ts), else im2col + GEMM.
 * `cacheableFilter` false: the filter exists for this call only. The
 * `epilogue` (FusedConv2D's bias and activation) runs in Winograd's output
 * transform, or as one in-place pass after the GEMM.
 */
export function conv2dImpl(
  backendName: string,
  matmul: MatMul,
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: tf.NamedAttrMap,
  cacheableFilter = true,
  epilogue: Epilogue = { activation: "linear" },
): tf.TensorInfo {
  requireNhwc("Conv2D", attrs);
  requireFloat("Conv2D", x, filter);
  const info = convInfo(x.shape, filter.shape, attrs);
  if (winograd.useWinograd(info, backendName, cacheableFilter)) {
    return winograd.winogradConv2d(
      backendName,
      backend,
      x,
      filter,
      info,
      cacheableFilter,
      epilogue,
    );
  }
  const K = info.filterHeight * info.filterWidth * info.inChannels;
  const col = columns(backendName, backend, x, info);
  const w = reshaped(backendName, backend, filter, [K, info.outChannels]);
  const out = matmul(backend, col, w, false, false);
  if (isPointwise(info) || !keepColumns(backend, x, geometryKey(info), col)) {
    free(backend, col);
  }
  free(backend, w);
  return withShape(
    applyEpilogue(backendName, backend, out, epilogue),
    info.outShape,
  );
}

/**
 * The filter of the stride-1 transposed convolution: spatially flipped,
 * with input and output channels swapped (HWIO → H'W'OI).
 */
function flippedFilter(
  backend: WasmBackendLike,
  filter: tf.TensorInfo,
): tf.TensorInfo {
  const [KH, KW, CI, CO] = filter.shape;
  const out = alloc(backend, [KH, KW, CO, CI]);
  const h = heapF32(backend);
  const src = offsetOf(backend, filter), dst = offsetOf(backend, out);
  for (let ky = 0; ky < KH; ky++) {
    for (let kx = 0; kx < KW; kx++) {
      const from = src + ((KH - 1 - ky) * KW + (KW - 1 - kx)) * CI * CO;
      const to = dst + (ky * KW + kx) * CO * CI;
      for (let ci = 0; ci < CI; ci++) {
        for (let co = 0; co < CO; co++) {
          h[to + co * CI + ci] = h[from + ci * CO + co];
        }
      }
    }
  }
  return out;
}

/**
 * dx of a stride-1 convolution as a forward convolution of dy with the
 * flipped filter: im2col copies runs where col2im adds them one float at a
 * time, which made col2im the largest non-GEMM cost of a training step.
 */
function transposedAsConv(
  backendName: string,
  matmul: MatMul,
  backend: WasmBackendLike,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: Info,
): tf.TensorInfo {
  const spanH = (info.filterHeight - 1) * info.dilationHeight;
  const spanW = (info.filterWidth - 1) * info.dilationWidth;
  const p = info.padInfo;
  const flipped = flippedFilter(backend, filter);
  const dx = conv2dImpl(backendName, matmul, backend, dy, flipped, {
    strides: [1, 1],
    dilations: [info.dilationHeight, info.dilationWidth],
    pad: [
      [0, 0],
      [spanH - p.top, spanH - p.bottom],
      [spanW - p.left, spanW - p.right],
      [0, 0],
    ],
  }, false);
  free(backend, flipped);
  return dx;
}

/** Conv2DBackpropInput: the gradient of Conv2D with respect to its input. */
export function conv2dBackpropInputImpl(
  backendName: string,
  matmul: MatMul,
  backend: WasmBackendLike,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: tf.NamedAttrMap,
): tf.TensorInfo {
  requireNhwc("Conv2DBackpropInput", attrs);
  requireFloat("Conv2DBackpropInput", dy, filter);
  const inputShape = attrs.inputShape as number[];
  const info = convInfo(inputShape, filter.shape, attrs);
  const M = info.batchSize * info.outHeight * info.outWidth;
  const K = info.filterHeight * info.filterWidth * info.inChannels;
  if (
    info.strideHeight === 1 && info.strideWidth === 1 && !isPointwise(info) &&
    M >= 3 * info.outChannels
  ) {
    return transposedAsConv(backendName, matmul, backend, dy, filter, info);
  }
  const dy2 = reshaped(backendName, backend, dy, [M, info.outChannels]);
  const w = reshaped(backendName, backend, filter, [K, info.outChannels]);
  const dcol = matmul(backend, dy2, w, false, true);
  free(backend, dy2);
  free(backend, w);
  if (isPointwise(info)) return withShape(dcol, inputShape);
  const dx = allocZeros(backend, inputShape);
  heapCol2im(backend, offsetOf(backend, dcol), offsetOf(backend, dx), info);
  free(backend, dcol);
  return dx;
}

/** Conv2DBackpropFilter: the gradient of Conv2D with respect to its filter. */
export function conv2dBackpropFilterImpl(
  backendName: string,
  matmul: MatMul,
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  attrs: tf.NamedAttrMap,
): tf.TensorInfo {
  requireNhwc("Conv2DBackpropFilter", attrs);
  requireFloat("Conv2DBackpropFilter", x, dy);
  const filterShape = attrs.filterShape as number[];
  const info = convInfo(x.shape, filterShape, attrs);
  if (winograd.useWinogradTraining(info, backendName)) {
    return winograd.winogradBackpropFilter(backendName, backend, x, dy, info);
  }
  const M = info.batchSize * info.outHeight * info.outWidth;
  const col = columns(backendName, backend, x, info, true);
  const dy2 = reshaped(backendName, backend, dy, [M, info.outChannels]);
  const dw = matmul(backend, col, dy2, true, false);
  free(backend, col);
  free(backend, dy2);
  return withShape(dw, filterShape);
}

/** Kernel configs for Conv2D's two gradients on `backendName`. */
export function convGradKernels(
  backendName: string,
  matmul: MatMul,
): tf.KernelConfig[] {
  return [
    heapKernel(
      "Conv2DBackpropInput",
      backendName,
      ({ inputs, backend, attrs }: WasmKernelArgs) =>
        conv2dBackpropInputImpl(
          backendName,
          matmul,
          backend,
          inputs.dy,
          inputs.filter,
          attrs ?? {},
        ),
    ),
    heapKernel(
      "Conv2DBackpropFilter",
      backendName,
      ({ inputs, backend, attrs }: WasmKernelArgs) =>
        conv2dBackpropFilterImpl(
          backendName,
          matmul,
          backend,
          inputs.x,
          inputs.dy,
          attrs ?? {},
        ),
    ),
  ];
}

/**
 * Kernel configs for Conv2D and FusedConv2D forward on `backendName`:
 * FusedConv2D's bias and activation go into the conv where
 * {@link simpleEpilogue} allows, else run after it.
 */
export function convForwardKernels(
  backendName: string,
  matmul: MatMul,
): tf.KernelConfig[] {
  const fwd = (args: WasmKernelArgs, epilogue?: Epilogue) =>
    conv2dImpl(
      backendName,
      matmul,
      args.backend,
      args.inputs.x,
      args.inputs.filter,
      args.attrs ?? {},
      true,
      epilogue,
    );
  const fused = (args: WasmKernelArgs) => {
    const attrs = args.attrs ?? {};
    const channels = args.inputs.filter.shape[3];
    const e = simpleEpilogue(channels, args.inputs, attrs);
    return e ? fwd(args, e) : biasActivation(
      backendName,
      args.backend,
      fwd(args),
      args.inputs,
      attrs,
    );
  };
  return [
    heapKernel("Conv2D", backendName, (args: WasmKernelArgs) => fwd(args)),
    heapKernel("FusedConv2D", backendName, fused),
  ];
}
