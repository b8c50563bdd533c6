/**
 * core/train/optimizer.ts's fused SGD-momentum kernel on the heap: one
 * SIMD pass (simd/kernels.c `sgd_momentum`) reads the variable, its
 * momentum and its gradient and writes the two new tensors. ResNet-18's
 * update was a fifth of a training step's time as four tfjs ops per
 * variable, each a memory-bound pass with a new allocation. With `inPlace`
 * (the optimizer's calls) a momentum that nothing else holds is updated in
 * its own buffer, which saves fresh memory's read for ownership.
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  SGD_MOMENTUM_KERNEL,
  type SgdMomentumAttrs,
} from "../../../core/train/optimizer.ts";
import {
  alloc,
  heapKernel,
  offsetOf,
  requireFloat,
  reuseOrAlloc,
  simdKernels,
  type WasmKernelArgs,
} from "./heap.ts";
import { simdAvailable } from "./simd/mod.ts";

/**
 * The {@link SGD_MOMENTUM_KERNEL} for `backendName` (none without the SIMD
 * kernels: the optimizer's tfjs ops run).
 */
export function sgdKernels(backendName: string): tf.KernelConfig[] {
  if (!simdAvailable()) return [];
  return [
    heapKernel(
      SGD_MOMENTUM_KERNEL,
      backendName,
      ({ inputs, backend, attrs }: WasmKernelArgs) => {
        const { variable: w, momentum: m, gradient: g } = inputs;
        requireFloat(SGD_MOMENTUM_KERNEL, w, m, g);
        const simd = simdKernels(backend);
        if (!simd) {
          throw new Error(
            `plugins/backends/kernels/sgd.ts: ${SGD_MOMENTUM_KERNEL} needs the SIMD heap kernels`,
          );
        }
        const a = attrs as SgdMomentumAttrs;
        // The variable always gets a new buffer: caches of derived weights
        // (folded batch norm, Winograd filters) key on its dataId, which
        // tfjs changes on every assign.
        const wOut = alloc(backend, w.shape);
        const mOut = a.inPlace
          ? reuseOrAlloc(backend, m)
          : alloc(backend, m.shape);
        simd.sgd_momentum(
          offsetOf(backend, w) * 4,
          offsetOf(backend, m) * 4,
          offsetOf(backend, g) * 4,
          offsetOf(backend, wOut) * 4,
          offsetOf(backend, mOut) * 4,
          tf.util.sizeFromShape(w.shape),
          a.lr,
          a.momentum,
          a.weightDecay,
          a.nesterov ? 1 : 0,
        );
        return [wOut, mOut];
      },
    ),
  ];
}
