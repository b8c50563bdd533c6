/**
 * GEMM-shaped kernels over one primitive, a {@link HeapGemm} on contiguous
 * operands in the wasm heap: the {@link MatMul} the convolution code uses,
 * BatchMatMul and _FusedMatMul. The `native` backend's primitive is a
 * system BLAS through FFI, the `wasm` backend's the gemm.c thread pool.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { MatMul } from "./conv2d.ts";
import { biasActivation } from "./epilogue.ts";
import {
  alloc,
  heapKernel,
  offsetOf,
  requireFloat,
  type WasmBackendLike,
  type WasmKernelArgs,
} from "./heap.ts";

/**
 * C = op(A)·op(B) for row-major contiguous operands at heap float offsets:
 * op(A) is m×k (stored k×m when `transA`), op(B) k×n (stored n×k when
 * `transB`), C m×n.
 */
export type HeapGemm = (
  backend: WasmBackendLike,
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: number,
  b: number,
  c: number,
) => void;

/** The 2-D {@link MatMul} of a {@link HeapGemm}. */
export function matMulOf(gemm: HeapGemm): MatMul {
  return (backend, a, b, transA, transB) => {
    const [ar, ac] = a.shape, [br, bc] = b.shape;
    const m = transA ? ac : ar, k = transA ? ar : ac, n = transB ? br : bc;
    const out = alloc(backend, [m, n]);
    gemm(
      backend,
      transA,
      transB,
      m,
      n,
      k,
      offsetOf(backend, a),
      offsetOf(backend, b),
      offsetOf(backend, out),
    );
    return out;
  };
}

/**
 * BatchMatMul with equal or broadcast-from-1 batch sizes on `gemm`; other
 * broadcasts go to `fallback`, a {@link MatMul} that takes batched operands.
 */
function batchMatMul(
  gemm: HeapGemm,
  fallback: MatMul,
  backend: WasmBackendLike,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transA: boolean,
  transB: boolean,
): tf.TensorInfo {
  requireFloat("BatchMatMul", a, b);
  const ra = a.shape.length, rb = b.shape.length;
  const [ar, ac] = a.shape.slice(ra - 2), [br, bc] = b.shape.slice(rb - 2);
  const m = transA ? ac : ar, k = transA ? ar : ac;
  const kb = transB ? bc : br, n = transB ? br : bc;
  if (k !== kb) {
    throw new Error(
      `plugins/backends: BatchMatMul inner sizes differ: ${a.shape} x ${b.shape} (transposeA=${transA}, transposeB=${transB})`,
    );
  }
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, ra - 2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, rb - 2));
  const outer = tf.backend_util.assertAndGetBroadcastShape(
    a.shape.slice(0, ra - 2),
    b.shape.slice(0, rb - 2),
  );
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) {
    return fallback(backend, a, b, transA, transB);
  }
  const out = alloc(backend, [...outer, m, n]);
  const aOff = offsetOf(backend, a), bOff = offsetOf(backend, b);
  const oOff = offsetOf(backend, out);
  for (let i = 0; i < Math.max(batchA, batchB); i++) {
    gemm(
      backend,
      transA,
      transB,
      m,
      n,
      k,
      aOff + (batchA === 1 ? 0 : i * ar * ac),
      bOff + (batchB === 1 ? 0 : i * br * bc),
      oOff + i * m * n,
    );
  }
  return out;
}

/** A BatchMatMul kernel function over `mm`, reading the transpose flags. */
export function batchMatMulKernelFunc(
  mm: MatMul,
): (args: WasmKernelArgs) => tf.TensorInfo {
  return ({ inputs, backend, attrs }) =>
    mm(
      backend,
      inputs.a,
      inputs.b,
      Boolean(attrs?.transposeA),
      Boolean(attrs?.transposeB),
    );
}

/**
 * BatchMatMul and _FusedMatMul for `backendName` on `gemm`, with
 * `fallback` for general batch broadcasting.
 */
export function matMulKernels(
  backendName: string,
  gemm: HeapGemm,
  fallback: MatMul,
): tf.KernelConfig[] {
  const mm = batchMatMulKernelFunc((backend, a, b, transA, transB) =>
    batchMatMul(gemm, fallback, backend, a, b, transA, transB)
  );
  return [
    heapKernel("BatchMatMul", backendName, mm),
    heapKernel(
      "_FusedMatMul",
      backendName,
      (args: WasmKernelArgs) =>
        biasActivation(
          backendName,
          args.backend,
          mm(args),
          args.inputs,
          args.attrs ?? {},
        ),
    ),
  ];
}
