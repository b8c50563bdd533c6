/**
 * Direct access to tensors stored in the tfjs wasm backend's heap. Kernels in
 * this folder read and write that memory in place (and hand it to a system
 * BLAS) instead of copying tensors out and back.
 */
import * as tf from "@tensorflow/tfjs-core";
import { type SimdKernels, simdKernelsOn } from "./simd/mod.ts";

/** The parts of tfjs' `BackendWasm` that these kernels use. */
export interface WasmBackendLike extends tf.KernelBackend {
  wasm: {
    HEAPU8: Uint8Array;
    HEAPF32: Float32Array;
    /** Emscripten's wasm exports, including the heap's Memory. */
    asm?: { memory?: WebAssembly.Memory };
  };
  dataIdMap: {
    get(dataId: unknown): { memoryOffset: number; shape: number[] };
  };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: unknown, force?: boolean): boolean;
  /** Tensors (and variables) holding `dataId`'s buffer. */
  refCount(dataId: unknown): number;
  incRef(dataId: unknown): void;
}

/** A kernel function's arguments, typed for the wasm backend. */
export interface WasmKernelArgs {
  inputs: Record<string, tf.TensorInfo>;
  backend: WasmBackendLike;
  attrs?: tf.NamedAttrMap;
}

/**
 * A kernel config for a function over heap tensors. The one cast from the
 * backend-agnostic `tf.KernelFunc` signature lives here.
 */
export function heapKernel(
  kernelName: string,
  backendName: string,
  fn: (args: WasmKernelArgs) => tf.TensorInfo | tf.TensorInfo[],
): tf.KernelConfig {
  return {
    kernelName,
    backendName,
    kernelFunc: fn as unknown as tf.KernelFunc,
  };
}

/** The current float view of the whole heap (re-read after allocations). */
export function heapF32(backend: WasmBackendLike): Float32Array {
  const heap = backend.wasm.HEAPF32;
  // Emscripten refreshes HEAPF32 on growth; guard against a stale view.
  return heap.buffer === backend.wasm.HEAPU8.buffer
    ? heap
    : new Float32Array(backend.wasm.HEAPU8.buffer);
}

/** The SIMD heap kernels on `backend`'s memory, or null (JS fallbacks). */
export function simdKernels(backend: WasmBackendLike): SimdKernels | null {
  return simdKernelsOn(backend.wasm.asm?.memory);
}

/** Offset of a float32 tensor in the heap, in elements. */
export function offsetOf(backend: WasmBackendLike, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset >>> 2;
}

/** Allocates an uninitialised float32 tensor on the heap. */
export function alloc(
  backend: WasmBackendLike,
  shape: number[],
): tf.TensorInfo {
  return backend.makeOutput(shape, "float32");
}

/**
 * An output for a result that replaces `input` element for element: the
 * input's own buffer when no other tensor holds it (the caller is about to
 * drop it, as an optimizer does a variable's old value), else a new one.
 * Writing in place skips the read-for-ownership of fresh output memory,
 * which is most of a memory-bound update's extra traffic.
 */
export function reuseOrAlloc(
  backend: WasmBackendLike,
  input: tf.TensorInfo,
): tf.TensorInfo {
  if (backend.refCount(input.dataId) !== 1) return alloc(backend, input.shape);
  return share(backend, input);
}

/** A second tensor on `x`'s buffer (its reference count raised). */
export function share(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Allocates a zero-filled float32 tensor on the heap. */
export function allocZeros(
  backend: WasmBackendLike,
  shape: number[],
): tf.TensorInfo {
  const out = alloc(backend, shape);
  const off = offsetOf(backend, out);
  heapF32(backend).fill(0, off, off + tf.util.sizeFromShape(shape));
  return out;
}

/** Whether `dataId` still names data on `backend` (not yet disposed). */
export function hasData(backend: WasmBackendLike, dataId: unknown): boolean {
  return (backend.dataIdMap as unknown as { has(id: unknown): boolean })
    .has(dataId);
}

/** Releases a kernel-internal tensor. */
export function free(backend: WasmBackendLike, t: tf.TensorInfo): void {
  backend.disposeData(t.dataId);
}

/**
 * Runs another registered kernel of `backendName` directly, as tfjs backends
 * do internally (no tape, no engine bookkeeping); the caller frees the result
 * when it is an intermediate.
 */
export function callKernel(
  backendName: string,
  kernelName: string,
  backend: WasmBackendLike,
  inputs: Record<string, tf.TensorInfo | undefined>,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const kernel = tf.getKernel(kernelName, backendName);
  if (!kernel) {
    throw new Error(
      `plugins/backends/kernels/heap.ts: kernel ${kernelName} is not registered for backend "${backendName}"`,
    );
  }
  const out = kernel.kernelFunc({
    inputs: inputs as tf.NamedTensorInfoMap,
    backend,
    attrs,
  });
  return Array.isArray(out) ? out[0] : out;
}

/** Same storage seen with another shape (sizes must match; shares data). */
export function reshaped(
  backendName: string,
  backend: WasmBackendLike,
  t: tf.TensorInfo,
  shape: number[],
): tf.TensorInfo {
  return callKernel(backendName, "Reshape", backend, { x: t }, { shape });
}

/** Makes sure a float32 input, or names the kernel that got something else. */
export function requireFloat(kernel: string, ...ts: tf.TensorInfo[]): void {
  for (const t of ts) {
    if (t.dtype !== "float32") {
      throw new Error(
        `plugins/backends: ${kernel} supports float32 only, got ${t.dtype}`,
      );
    }
  }
}

/**
 * Identity as a shared reference (the cpu backend's rule) instead of the
 * wasm kernel's heap copy: the engine clones every tensor a gradient saves.
 * Sharing storage is safe: a kernel writes into an input only when no other
 * tensor holds it ({@link reuseOrAlloc}), and a share is another holder.
 */
export function sharedIdentity(backendName: string): tf.KernelConfig {
  return heapKernel(
    "Identity",
    backendName,
    ({ inputs, backend }) => share(backend, inputs.x),
  );
}

/**
 * Cast that shares storage when the dtype does not change (the cpu
 * backend's rule) instead of the wasm kernel's heap copy: tfjs' gradient of
 * every Multiply casts both operands to float32, two full copies per
 * product. Other casts go to `original`.
 */
export function sharedCast(
  backendName: string,
  original: tf.KernelConfig,
): tf.KernelConfig {
  return {
    ...heapKernel("Cast", backendName, (args) => {
      const x = args.inputs.x;
      if (args.attrs?.dtype !== x.dtype) {
        return original.kernelFunc(
          args as unknown as Parameters<tf.KernelFunc>[0],
        ) as tf.TensorInfo;
      }
      return share(args.backend, x);
    }),
    setupFunc: original.setupFunc,
  };
}
