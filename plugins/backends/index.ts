/**
 * The built-in compute backends, for `selectBackend(builtinBackends, name)`.
 * `auto` tries them by priority: tensorflow-gpu, webgpu (on a hardware
 * adapter only), tensorflow, native, wasm (cpu is the reference and only
 * used when asked for).
 */
import type { BackendProvider } from "../../core/backend.ts";
import { cpuBackend } from "./cpu.ts";
import { nativeBackend } from "./native.ts";
import { tensorflowBackend } from "./tensorflow.ts";
import { tensorflowGpuBackend } from "./tensorflow_gpu.ts";
import { wasmBackend } from "./wasm.ts";
import { webgpuBackend } from "./webgpu.ts";

export { cpuBackend } from "./cpu.ts";
export { NATIVE_TF_NAME, nativeBackend } from "./native.ts";
export { tensorflowBackend } from "./tensorflow.ts";
export { tensorflowGpuBackend } from "./tensorflow_gpu.ts";
export { installWasmTrainingKernels, wasmBackend } from "./wasm.ts";
export {
  adapterLine,
  gpuAdapter,
  type GpuAdapterSummary,
  isSoftwareAdapter,
  webgpuBackend,
} from "./webgpu.ts";

/** Every built-in backend provider. */
export const builtinBackends: readonly BackendProvider[] = [
  tensorflowGpuBackend,
  webgpuBackend,
  tensorflowBackend,
  nativeBackend,
  wasmBackend,
  cpuBackend,
];
