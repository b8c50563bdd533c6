/**
 * The `native` backend's GEMM primitive: BLAS `sgemm` reading and writing
 * the wasm heap in place through raw pointers (see kernels/gemm_kernels.ts
 * for the kernels built on it).
 */
import type { HeapGemm } from "../kernels/gemm_kernels.ts";
import type { WasmBackendLike } from "../kernels/heap.ts";
import type { Blas } from "./blas_ffi.ts";

let pointerBuffer: ArrayBufferLike | null = null;
let pointerBase: Deno.PointerValue = null;

/** Raw address of float element `offset` of the heap (cached per buffer). */
export function heapPointer(
  backend: WasmBackendLike,
  offset: number,
): Deno.PointerValue {
  const u8 = backend.wasm.HEAPU8;
  if (u8.buffer !== pointerBuffer) {
    pointerBuffer = u8.buffer;
    pointerBase = Deno.UnsafePointer.of(u8 as Uint8Array<ArrayBuffer>);
  }
  return Deno.UnsafePointer.offset(pointerBase!, offset * 4);
}

/** A {@link HeapGemm} on BLAS `sgemm`. */
export function blasHeapGemm(blas: Blas): HeapGemm {
  return (backend, transA, transB, m, n, k, a, b, c) =>
    blas.sgemm(
      transA,
      transB,
      m,
      n,
      k,
      1,
      heapPointer(backend, a),
      transA ? m : k,
      heapPointer(backend, b),
      transB ? k : n,
      0,
      heapPointer(backend, c),
      n,
    );
}
