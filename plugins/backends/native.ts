/**
 * `native`: tensors live in the wasm backend's heap, where its SIMD
 * elementwise, pooling and reduction kernels work on them; every GEMM-shaped
 * kernel (Conv2D, FusedConv2D, both Conv2D gradients, BatchMatMul,
 * _FusedMatMul) runs on a multithreaded system BLAS (oneDNN, OpenBLAS, MKL or
 * Accelerate) through Deno FFI, reading the heap in place. Registered in
 * tfjs as "selftrain-native", sharing the wasm backend instance, so tensors
 * move between `wasm` and `native` without copies.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendProvider, ProbeResult } from "../../core/backend.ts";
import { useTfBackend } from "./use.ts";
import {
  convForwardKernels,
  convGradKernels,
  type MatMul,
} from "./kernels/conv2d.ts";
import { matMulKernels, matMulOf } from "./kernels/gemm_kernels.ts";
import { callKernel, sharedIdentity } from "./kernels/heap.ts";
import { allowWinograd } from "./kernels/winograd.ts";
import { blasUnavailableReason, loadBlas } from "./native/blas_ffi.ts";
import { blasHeapGemm } from "./native/kernels_gemm.ts";
import { reduceKernels } from "./native/kernels_reduce.ts";
import {
  loadDnnlBinary,
  loadDnnlConv,
  loadDnnlPointwise,
  loadDnnlPool,
} from "./native/dnnl_loader.ts";
import { dnnlBinaryKernels } from "./native/kernels_binary_dnnl.ts";
import { dnnlPointwiseKernels } from "./native/kernels_pointwise_dnnl.ts";
import { dnnlBnReluKernels } from "./native/kernels_bn_relu_dnnl.ts";
import { dnnlPoolKernels } from "./native/kernels_pool_dnnl.ts";
import { dnnlConvKernels } from "./native/kernels_conv_dnnl.ts";
import { dnnlDepthwiseKernels } from "./native/kernels_depthwise_dnnl.ts";
import { dnnlFusedKernels } from "./native/kernels_fused_dnnl.ts";
import { installWasmTrainingKernels } from "./wasm.ts";

/** The tfjs backend name the native kernels are registered under. */
export const NATIVE_TF_NAME = "selftrain-native";

let registered = false;

/**
 * Conv kernels: oneDNN's direct (and depthwise) convolutions when
 * libdnnl.so.2 loads, each falling back to im2col / Winograd on the BLAS
 * (the wasm depthwise kernels) for what it declines.
 */
function convKernels(matmul: MatMul): tf.KernelConfig[] {
  const gemmBased = [
    ...convForwardKernels(NATIVE_TF_NAME, matmul),
    ...convGradKernels(NATIVE_TF_NAME, matmul),
  ];
  const dnnl = loadDnnlConv();
  if (!dnnl) return gemmBased;
  const depthwise = [
    "DepthwiseConv2dNative",
    "DepthwiseConv2dNativeBackpropInput",
    "DepthwiseConv2dNativeBackpropFilter",
  ].map((name) => tf.getKernel(name, NATIVE_TF_NAME)!);
  return [
    ...dnnlConvKernels(NATIVE_TF_NAME, dnnl, gemmBased),
    ...dnnlDepthwiseKernels(NATIVE_TF_NAME, dnnl, depthwise),
  ];
}

/** Registers the "selftrain-native" tfjs backend and its kernels. */
async function registerNative(): Promise<void> {
  if (registered) return;
  const blas = loadBlas();
  if (!blas) throw new Error(`native backend: ${blasUnavailableReason()}`);
  installWasmTrainingKernels();
  const previous = tf.getBackend();
  // The wasm backend instance must exist before it can be shared.
  await useTfBackend("wasm");
  const instance = tf.findBackend("wasm");
  if (previous && previous !== "wasm") await useTfBackend(previous);
  if (!instance) throw new Error("native backend: wasm backend did not start");
  tf.registerBackend(NATIVE_TF_NAME, () => instance, 0);
  tf.copyRegisteredKernels("wasm", NATIVE_TF_NAME);
  const gemm = blasHeapGemm(blas);
  const matmul = matMulOf(gemm);
  allowWinograd(NATIVE_TF_NAME);
  for (
    const config of [
      ...convKernels(matmul),
      ...matMulKernels(
        NATIVE_TF_NAME,
        gemm,
        (backend, a, b, transposeA, transposeB) =>
          callKernel("wasm", "BatchMatMul", backend, { a, b }, {
            transposeA,
            transposeB,
          }),
      ),
      ...reduceKernels(NATIVE_TF_NAME, blas),
      sharedIdentity(NATIVE_TF_NAME),
    ]
  ) {
    tf.unregisterKernel(config.kernelName, NATIVE_TF_NAME);
    tf.registerKernel(config);
  }
  // after the rest: these fall back to the SIMD kernels registered above
  const pointwise = loadDnnlPointwise(), binary = loadDnnlBinary();
  const pool = loadDnnlPool();
  const dnnlConv = loadDnnlConv();
  for (
    const config of [
      ...(dnnlConv ? dnnlFusedKernels(NATIVE_TF_NAME, dnnlConv) : []),
      ...(pointwise ? dnnlPointwiseKernels(NATIVE_TF_NAME, pointwise) : []),
      ...(binary ? dnnlBinaryKernels(NATIVE_TF_NAME, binary) : []),
      ...(pool ? dnnlPoolKernels(NATIVE_TF_NAME, pool) : []),
    ]
  ) {
    if (tf.getKernel(config.kernelName, NATIVE_TF_NAME)) {
      tf.unregisterKernel(config.kernelName, NATIVE_TF_NAME);
    }
    tf.registerKernel(config);
  }
  // last: it falls back to the batch-norm and relu kernels above
  if (pointwise) {
    for (const config of dnnlBnReluKernels(NATIVE_TF_NAME, pointwise)) {
      tf.registerKernel(config);
    }
  }
  registered = true;
}

/** The `native` backend provider (wasm heap + system BLAS). */
export const nativeBackend: BackendProvider = {
  name: "native",
  description:
    "wasm kernels + system BLAS (oneDNN/OpenBLAS/MKL/Accelerate) via FFI for convolutions and matmuls; needs --allow-ffi and libdnnl2 or libopenblas0; fastest CPU choice",
  priority: 20,
  probe(): Promise<ProbeResult> {
    let blas;
    try {
      blas = loadBlas();
    } catch (e) {
      return Promise.resolve({
        ok: false,
        why: `cannot load a BLAS (${
          (e as Error).message
        }); run with --allow-ffi`,
      });
    }
    return Promise.resolve(
      blas
        ? { ok: true, detail: `native: BLAS ${blas.library} via FFI` }
        : { ok: false, why: blasUnavailableReason() },
    );
  },
  async activate(): Promise<void> {
    await registerNative();
    await useTfBackend(NATIVE_TF_NAME);
  },
};
