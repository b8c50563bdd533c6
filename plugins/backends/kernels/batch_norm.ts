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
  alloc,
  callKernel,
  free,
  heapF32,
  offsetOf,
  type WasmBackendLike,
  type WasmKernelArgs,
} from "./heap.ts";

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
