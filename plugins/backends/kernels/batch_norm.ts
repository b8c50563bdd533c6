/**
 * FusedBatchNorm on the heap as a multiply and an add with per-channel
 * scale and shift computed once: y = x·s[c] + t[c],
 * s = scale/√(variance + ε), t = offset − mean·s. The wasm backend's kernel
 * takes a square root and a division per element and was the largest
 * non-GEMM cost of a ResNet training step. Statistics that are not
 * per-channel vectors go to the original kernel.
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  BATCH_NORM_GRAD_KERNEL,
  BATCH_NORM_STATS_KERNEL,
} from "../../../core/nn/batch_norm.ts";
import {
  alloc,
  callKernel,
  free,
  heapF32,
  heapKernel,
  offsetOf,
  requireFloat,
  simdKernels,
  type WasmBackendLike,
  type WasmKernelArgs,
} from "./heap.ts";
import { simdAvailable, type SimdKernels } from "./simd/mod.ts";

/** Per-channel values of an optional statistic (size 1 broadcasts). */
function channelValues(
  backend: WasmBackendLike,
  t: tf.TensorInfo | undefined,
  channels: number,
  fallback: number,
): Float64Array {
  const out = new Float64Array(channels).fill(fallback);
  if (!t) return out;
  const h = heapF32(backend), off = offsetOf(backend, t);
  const size = tf.util.sizeFromShape(t.shape);
  for (let c = 0; c < channels; c++) out[c] = h[off + (size === 1 ? 0 : c)];
  return out;
}

function isChannelVector(t: tf.TensorInfo | undefined, c: number): boolean {
  if (!t) return true;
  const size = tf.util.sizeFromShape(t.shape);
  return t.dtype === "float32" && (size === 1 || size === c) &&
    t.shape.filter((s) => s !== 1).length <= 1;
}

/** y = x·s[c] + t[c] over channels-last `x`. */
export function batchNormImpl(
  backendName: string,
  backend: WasmBackendLike,
  inputs: Record<string, tf.TensorInfo | undefined>,
  epsilon: number,
): tf.TensorInfo {
  const x = inputs.x!;
  const channels = x.shape[x.shape.length - 1] ?? 1;
  const mean = channelValues(backend, inputs.mean, channels, 0);
  const variance = channelValues(backend, inputs.variance, channels, 1);
  const scale = channelValues(backend, inputs.scale, channels, 1);
  const offset = channelValues(backend, inputs.offset, channels, 0);
  const s = new Float32Array(channels), t = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    s[c] = scale[c] / Math.sqrt(variance[c] + epsilon);
    t[c] = offset[c] - mean[c] * s[c];
  }
  const simd = simdKernels(backend);
  if (simd) {
    const [rows] = rowsAndChannels(x);
    const coef = new Float32Array(2 * channels);
    coef.set(s);
    coef.set(t, channels);
    const coefT = upload(backend, coef);
    const out = alloc(backend, x.shape);
    simd.channel_affine(
      offsetOf(backend, x) * 4,
      offsetOf(backend, out) * 4,
      rows,
      channels,
      offsetOf(backend, coefT) * 4,
    );
    free(backend, coefT);
    return out;
  }
  // two SIMD broadcast passes of the backend's own kernels beat one scalar
  // JS pass about fourfold
  const scaleT = upload(backend, s), shiftT = upload(backend, t);
  const scaled = callKernel(backendName, "Multiply", backend, {
    a: x,
    b: scaleT,
  });
  const out = callKernel(backendName, "Add", backend, { a: scaled, b: shiftT });
  free(backend, scaled);
  free(backend, scaleT);
  free(backend, shiftT);
  return out;
}

/** A new [n] float tensor on the heap holding `values`. */
function upload(backend: WasmBackendLike, values: Float32Array): tf.TensorInfo {
  const t = alloc(backend, [values.length]);
  heapF32(backend).set(values, offsetOf(backend, t));
  return t;
}

/** The FusedBatchNorm kernel config (other layouts go to `fallback`). */
export function batchNormKernels(
  backendName: string,
  fallback: tf.KernelConfig,
): tf.KernelConfig[] {
  return [{
    kernelName: "FusedBatchNorm",
    backendName,
    setupFunc: fallback.setupFunc,
    kernelFunc: ((args: WasmKernelArgs) => {
      const { inputs, backend } = args;
      const x = inputs.x;
      const c = x.shape[x.shape.length - 1] ?? 1;
      const supported = x.dtype === "float32" &&
        ["mean", "variance", "scale", "offset"].every((k) =>
          isChannelVector(inputs[k], c)
        );
      return supported
        ? batchNormImpl(
          backendName,
          backend,
          inputs,
          (args.attrs?.varianceEpsilon ?? 0.001) as number,
        )
        : fallback.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]);
    }) as unknown as tf.KernelFunc,
  }];
}

/** Reads `n` doubles at byte address `byteOffset` of the heap. */
function readDoubles(
  backend: WasmBackendLike,
  byteOffset: number,
  n: number,
): Float64Array {
  const view = new DataView(backend.wasm.HEAPU8.buffer, byteOffset, n * 8);
  return Float64Array.from(
    { length: n },
    (_, i) => view.getFloat64(i * 8, true),
  );
}

/** Rows and channels of channels-last `x`. */
function rowsAndChannels(x: tf.TensorInfo): [number, number] {
  const channels = x.shape[x.shape.length - 1];
  return [tf.util.sizeFromShape(x.shape) / channels, channels];
}

/**
 * Per-channel sums in double of `x` (and of x·(y − centre) with `y`):
 * kernels.c's `channel_sums` through a scratch tensor.
 */
function channelSums(
  simd: SimdKernels,
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  y?: tf.TensorInfo,
  centre?: tf.TensorInfo,
): [Float64Array, Float64Array] {
  const [rows, channels] = rowsAndChannels(x);
  const scratch = alloc(backend, [4 * channels]); // 2·channels doubles
  const at = offsetOf(backend, scratch) * 4;
  simd.channel_sums(
    offsetOf(backend, x) * 4,
    y ? offsetOf(backend, y) * 4 : 0,
    centre ? offsetOf(backend, centre) * 4 : 0,
    rows,
    channels,
    at,
  );
  const sums = readDoubles(backend, at, 2 * channels);
  free(backend, scratch);
  return [sums.subarray(0, channels), sums.subarray(channels)];
}

/** Batch mean and biased variance in two passes (no cancellation). */
function batchNormStatsImpl(
  simd: SimdKernels,
  backend: WasmBackendLike,
  x: tf.TensorInfo,
): tf.TensorInfo[] {
  const [rows] = rowsAndChannels(x);
  const [sum] = channelSums(simd, backend, x);
  const mean = upload(backend, Float32Array.from(sum, (v) => v / rows));
  const [, centred] = channelSums(simd, backend, x, x, mean);
  const variance = upload(
    backend,
    Float32Array.from(centred, (v) => Math.max(v / rows, 0)),
  );
  return [mean, variance];
}

/**
 * The closed-form batch-norm input, γ and β gradients (see
 * core/nn/batch_norm.ts) as one sums pass and one elementwise pass:
 * dx = dy·a[c] + x·b[c] + d[c].
 */
function batchNormGradImpl(
  simd: SimdKernels,
  backend: WasmBackendLike,
  inputs: Record<string, tf.TensorInfo>,
  epsilon: number,
): tf.TensorInfo[] {
  const { x, dy } = inputs;
  const [rows, channels] = rowsAndChannels(x);
  const mean = channelValues(backend, inputs.mean, channels, 0);
  const variance = channelValues(backend, inputs.variance, channels, 1);
  const gamma = channelValues(backend, inputs.gamma, channels, 1);
  const [dBeta, dyCentred] = channelSums(simd, backend, dy, x, inputs.mean);
  const coef = new Float32Array(3 * channels);
  const dGamma = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const rstd = 1 / Math.sqrt(variance[c] + epsilon);
    dGamma[c] = dyCentred[c] * rstd;
    const scale = gamma[c] * rstd, k = -scale / rows;
    const b = k * dGamma[c] * rstd;
    coef[c] = scale;
    coef[channels + c] = b;
    coef[2 * channels + c] = k * dBeta[c] - mean[c] * b;
  }
  const coefT = upload(backend, coef);
  const dx = alloc(backend, x.shape);
  simd.channel_affine2(
    offsetOf(backend, dy) * 4,
    offsetOf(backend, x) * 4,
    offsetOf(backend, dx) * 4,
    rows,
    channels,
    offsetOf(backend, coefT) * 4,
  );
  free(backend, coefT);
  return [
    dx,
    upload(backend, dGamma),
    upload(backend, Float32Array.from(dBeta)),
  ];
}

/**
 * The training batch-norm kernels core/nn/batch_norm.ts looks for, on the
 * SIMD heap kernels (none when they cannot load: core's tfjs ops run).
 */
export function batchNormTrainingKernels(
  backendName: string,
): tf.KernelConfig[] {
  if (!simdAvailable()) return [];
  const simdOf = (backend: WasmBackendLike): SimdKernels => {
    const simd = simdKernels(backend);
    if (!simd) {
      throw new Error(
        "plugins/backends/kernels/batch_norm.ts: the SIMD heap kernels are not available on this backend",
      );
    }
    return simd;
  };
  return [
    heapKernel(
      BATCH_NORM_STATS_KERNEL,
      backendName,
      ({ inputs, backend }: WasmKernelArgs) => {
        requireFloat(BATCH_NORM_STATS_KERNEL, inputs.x);
        return batchNormStatsImpl(simdOf(backend), backend, inputs.x);
      },
    ),
    heapKernel(
      BATCH_NORM_GRAD_KERNEL,
      backendName,
      ({ inputs, backend, attrs }: WasmKernelArgs) => {
        requireFloat(BATCH_NORM_GRAD_KERNEL, inputs.x, inputs.dy);
        return batchNormGradImpl(
          simdOf(backend),
          backend,
          inputs,
          (attrs?.epsilon ?? 0.001) as number,
        );
      },
    ),
  ];
}
