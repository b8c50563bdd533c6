/**
 * core/nn/swish.ts's optional kernels on the heap: swish forward and its
 * gradient, each one SIMD pass (simd/activation.c) over the tensors in
 * place.
 */
import * as tf from "@tensorflow/tfjs-core";
import { SWISH_GRAD_KERNEL, SWISH_KERNEL } from "../../layers/activations.ts";
import {
  alloc,
  heapKernel,
  offsetOf,
  requireFloat,
  simdKernels,
  type WasmBackendLike,
  type WasmKernelArgs,
} from "./heap.ts";
import { simdAvailable, type SimdKernels } from "./simd/mod.ts";

function simdOf(backend: WasmBackendLike, kernel: string): SimdKernels {
  const simd = simdKernels(backend);
  if (!simd) {
    throw new Error(
      `plugins/backends/kernels/activation.ts: ${kernel} needs the SIMD heap kernels`,
    );
  }
  return simd;
}

/**
 * {@link SWISH_KERNEL} and {@link SWISH_GRAD_KERNEL} for `backendName`
 * (none without the SIMD kernels: the tfjs ops run).
 */
export function activationKernels(backendName: string): tf.KernelConfig[] {
  if (!simdAvailable()) return [];
  return [
    heapKernel(
      SWISH_KERNEL,
      backendName,
      ({ inputs, backend }: WasmKernelArgs) => {
        const { x } = inputs;
        requireFloat(SWISH_KERNEL, x);
        const simd = simdOf(backend, SWISH_KERNEL);
        const out = alloc(backend, x.shape);
        simd.swish_forward(
          offsetOf(backend, x) * 4,
          offsetOf(backend, out) * 4,
          tf.util.sizeFromShape(x.shape),
        );
        return out;
      },
    ),
    heapKernel(
      SWISH_GRAD_KERNEL,
      backendName,
      ({ inputs, backend }: WasmKernelArgs) => {
        const { x, dy } = inputs;
        requireFloat(SWISH_GRAD_KERNEL, x, dy);
        const simd = simdOf(backend, SWISH_GRAD_KERNEL);
        const dx = alloc(backend, x.shape);
        simd.swish_backward(
          offsetOf(backend, x) * 4,
          offsetOf(backend, dy) * 4,
          offsetOf(backend, dx) * 4,
          tf.util.sizeFromShape(x.shape),
        );
        return dx;
      },
    ),
  ];
}
