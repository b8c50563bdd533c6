/**
 * `wasm`: tfjs' WebAssembly backend (XNNPACK, SIMD) completed with the
 * kernels that training needs and it lacks (Conv2DBackpropFilter, both
 * depthwise gradients, UnsortedSegmentSum), a GEMM-based
 * Conv2DBackpropInput and faster Tile, MaxPoolGrad and FusedBatchNorm.
 * Convolutions and matmuls run on a multithreaded GEMM of our own
 * (kernels/gemm_pool.ts: relaxed-SIMD FMA on every core) instead of
 * XNNPACK's single thread. Needs nothing but npm packages.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-wasm";
// tf.grads needs the gradient registry filled.
import "../../core/gradients.ts";
import type { BackendProvider, ProbeResult } from "../../core/backend.ts";
import { useTfBackend } from "./use.ts";
import {
  batchNormKernels,
  batchNormTrainingKernels,
} from "./kernels/batch_norm.ts";
import { sgdKernels } from "./kernels/sgd.ts";
import { activationKernels } from "./kernels/activation.ts";
import { splitKernels } from "./kernels/split.ts";
import {
  convForwardKernels,
  convGradKernels,
  type MatMul,
} from "./kernels/conv2d.ts";
import { depthwiseGradKernels } from "./kernels/depthwise.ts";
import {
  batchMatMulKernelFunc,
  type HeapGemm,
  matMulKernels,
  matMulOf,
} from "./kernels/gemm_kernels.ts";
import { GemmPool } from "./kernels/gemm_pool.ts";
import { allowWinograd } from "./kernels/winograd.ts";
import {
  callKernel,
  free,
  heapF32,
  heapKernel,
  sharedCast,
  sharedIdentity,
  type WasmBackendLike,
} from "./kernels/heap.ts";
import { poolGradKernels } from "./kernels/pool_grad.ts";
import { segmentKernels } from "./kernels/segment.ts";
import { tileKernels } from "./kernels/tile.ts";
import { envValue } from "./env.ts";

// The wasm BatchMatMul is fast without transpose flags and 6-12x slower
// with them, so transposes are done explicitly (Transpose is cheap).
let plainBatchMatMul: tf.KernelFunc | null = null;

function transposed(backend: WasmBackendLike, t: tf.TensorInfo): tf.TensorInfo {
  const perm = t.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return callKernel("wasm", "Transpose", backend, { x: t }, { perm });
}

function plainMatMul(
  backend: WasmBackendLike,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
): tf.TensorInfo {
  const out = plainBatchMatMul!({
    inputs: { a, b },
    backend,
    attrs: { transposeA: false, transposeB: false },
  });
  return out as tf.TensorInfo;
}

/** op(a)·op(b) with explicit transposes, choosing the cheaper rewrite. */
function matMulNoFlags(
  backend: WasmBackendLike,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transA: boolean,
  transB: boolean,
): tf.TensorInfo {
  if (!transA && !transB) return plainMatMul(backend, a, b);
  const size = (t: tf.TensorInfo) => tf.util.sizeFromShape(t.shape);
  const rank = a.shape.length;
  if (transA && !transB && rank === 2 && b.shape.length === 2) {
    const outSize = a.shape[1] * b.shape[1];
    if (size(b) + outSize < size(a)) {
      // aᵀ·b = (bᵀ·a)ᵀ: transposes the two smaller matrices instead of a
      const bt = transposed(backend, b);
      const r = plainMatMul(backend, bt, a);
      free(backend, bt);
      const out = transposed(backend, r);
      free(backend, r);
      return out;
    }
  }
  const at = transA ? transposed(backend, a) : a;
  const bt = transB ? transposed(backend, b) : b;
  const out = plainMatMul(backend, at, bt);
  if (transA) free(backend, at);
  if (transB) free(backend, bt);
  return out;
}

let pool: GemmPool | null = null;
let pooledMatMul: MatMul | null = null;

/** A {@link HeapGemm} on the thread pool, copying operands in and out. */
function pooledGemm(threads: GemmPool): HeapGemm {
  return (backend, transA, transB, m, n, k, a, b, c) => {
    const h = heapF32(backend);
    threads.gemm(
      {
        transA,
        transB,
        m,
        n,
        k,
        a: h.subarray(a, a + m * k),
        b: h.subarray(b, b + k * n),
      },
      h.subarray(c, c + m * n),
    );
  };
}

/**
 * The wasm backend's GEMM: the thread pool once started, XNNPACK's
 * BatchMatMul before that (or when the pool is off).
 */
export const wasmMatMul: MatMul = (backend, a, b, transA, transB) =>
  (pooledMatMul ?? matMulNoFlags)(backend, a, b, transA, transB);

/**
 * Threads for the wasm GEMM: `SELFTRAIN_WASM_THREADS` (0 turns the pool
 * off: XNNPACK's single-threaded kernels), else every core.
 */
function wasmThreads(): number {
  const env = envValue("SELFTRAIN_WASM_THREADS");
  const n = env === undefined || env === "" ? NaN : Number(env);
  return Number.isInteger(n) && n >= 0 ? n : navigator.hardwareConcurrency;
}

let starting: Promise<string> | null = null;

/**
 * Starts the GEMM thread pool and moves Conv2D, FusedConv2D, BatchMatMul
 * and _FusedMatMul of "wasm" onto it (idempotent; concurrent calls share
 * one start). Returns a line saying what runs the GEMMs.
 */
export function startWasmThreads(
  threads: number = wasmThreads(),
): Promise<string> {
  installWasmTrainingKernels();
  starting ??= startPool(threads);
  return starting;
}

async function startPool(threads: number): Promise<string> {
  if (threads === 0) return "wasm: GEMM on XNNPACK (SELFTRAIN_WASM_THREADS=0)";
  try {
    pool = await GemmPool.start(threads);
  } catch (e) {
    return `wasm: GEMM on XNNPACK, one thread (thread pool unavailable: ${
      (e as Error).message
    })`;
  }
  const gemm = pooledGemm(pool);
  pooledMatMul = matMulOf(gemm);
  // Winograd's 16 batched GEMMs pay on the pool (ResNet-18: +20% training,
  // +45% inference), not on XNNPACK's one thread.
  allowWinograd("wasm");
  const configs = [
    ...convForwardKernels("wasm", wasmMatMul),
    ...matMulKernels("wasm", gemm, matMulNoFlags),
  ];
  for (const config of configs) {
    const original = tf.getKernel(config.kernelName, "wasm");
    if (original) tf.unregisterKernel(config.kernelName, "wasm");
    tf.registerKernel({ ...config, setupFunc: original?.setupFunc });
  }
  return `wasm: GEMM on ${threads} thread(s)`;
}

let installed = false;

/** Registers the training kernels for tfjs' "wasm" backend (idempotent). */
export function installWasmTrainingKernels(): void {
  if (installed) return;
  // Replacements keep the originals' setupFunc: the originals stay callable.
  const original = (name: string) => tf.getKernel(name, "wasm")!;
  plainBatchMatMul = original("BatchMatMul").kernelFunc;
  const configs: tf.KernelConfig[] = [
    {
      ...heapKernel(
        "BatchMatMul",
        "wasm",
        batchMatMulKernelFunc(matMulNoFlags),
      ),
      setupFunc: original("BatchMatMul").setupFunc,
    },
    ...convGradKernels("wasm", wasmMatMul),
    ...depthwiseGradKernels("wasm"),
    ...segmentKernels("wasm"),
    ...poolGradKernels("wasm"),
    ...tileKernels("wasm", original("Tile")),
    ...batchNormKernels("wasm", original("FusedBatchNorm")),
    ...batchNormTrainingKernels("wasm"),
    ...sgdKernels("wasm"),
    ...activationKernels("wasm"),
    ...splitKernels("wasm", original("SplitV")),
    { ...sharedIdentity("wasm"), setupFunc: original("Identity").setupFunc },
    sharedCast("wasm", original("Cast")),
  ];
  for (const config of configs) {
    if (tf.getKernel(config.kernelName, "wasm")) {
      tf.unregisterKernel(config.kernelName, "wasm");
    }
    tf.registerKernel(config);
  }
  installed = true;
}

/** The `wasm` backend provider. */
export const wasmBackend: BackendProvider = {
  name: "wasm",
  description:
    "WebAssembly (SIMD) with training kernels added and a GEMM on every core; needs only npm packages; the portable choice",
  priority: 10,
  probe(): Promise<ProbeResult> {
    if (typeof WebAssembly !== "object") {
      return Promise.resolve({
        ok: false,
        why: "WebAssembly is not available in this runtime",
      });
    }
    const threads = wasmThreads();
    return Promise.resolve({
      ok: true,
      detail: `wasm: WebAssembly available, no system library needed; ${
        threads === 0
          ? "XNNPACK matmuls (SELFTRAIN_WASM_THREADS=0)"
          : `GEMM on ${threads} thread(s)`
      }`,
    });
  },
  async activate(): Promise<void> {
    const line = await startWasmThreads();
    if (line.includes("unavailable")) console.error(line);
    await useTfBackend("wasm");
  },
};
