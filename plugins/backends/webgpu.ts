/**
 * `webgpu`: tfjs' WebGPU backend (`@tensorflow/tfjs-backend-webgpu`) on the
 * runtime's built-in `navigator.gpu` (Deno has it without a flag). On a
 * machine with a Vulkan, Metal or D3D12 GPU driver the kernels run on the
 * GPU with nothing but npm packages; on Mesa's lavapipe (a CPU Vulkan
 * implementation) they run, slowly, on the CPU, which is how correctness is
 * checked on machines without a GPU.
 *
 * The device is created here, not by the package's own factory, to work
 * around two Deno WebGPU issues: an adapter cannot be read once a device has
 * been created from it (tfjs#8518), so its info is read first and the one
 * adapter is kept; and `requiredFeatures` is passed as a flat list of names
 * (the package nests one in an array).
 *
 * Deno has no 2d canvas, so the package's synchronous read-back
 * (`dataSync()`) cannot work there; reading a tensor that lives on the GPU
 * synchronously throws a one-line error that names the async API. The
 * project reads with `await tensor.data()`.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import type { BackendProvider, ProbeResult } from "../../core/backend.ts";
import { useTfBackend } from "./use.ts";

/** What the adapter says about itself, read before any device exists. */
export interface GpuAdapterSummary {
  /** Vendor id or name. */
  vendor: string;
  /** Architecture (may be empty). */
  architecture: string;
  /** Device id or name (may be empty). */
  device: string;
  /** Driver description, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  description: string;
  /** True for a software (CPU) adapter such as lavapipe or SwiftShader. */
  software: boolean;
}

interface FoundAdapter {
  adapter: GPUAdapter;
  summary: GpuAdapterSummary;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|warp/i;

/** True when the adapter's own fields say it is a software adapter. */
export function isSoftwareAdapter(
  info: Partial<GpuAdapterSummary> & { isFallbackAdapter?: boolean },
): boolean {
  if (info.isFallbackAdapter === true) return true;
  return [info.vendor, info.architecture, info.device, info.description]
    .some((field) => typeof field === "string" && SOFTWARE.test(field));
}

/** One line naming the adapter, e.g. for the backend's start-up line. */
export function adapterLine(s: GpuAdapterSummary): string {
  const name = s.description || [s.vendor, s.architecture, s.device]
    .filter((f) => f).join(" ") ||
    "unnamed adapter";
  return `${name}${s.software ? " (software adapter)" : ""}`;
}

let adapterPromise: Promise<FoundAdapter | null> | null = null;

/**
 * Mesa's Vulkan drivers print "XDG_RUNTIME_DIR is invalid or not set" twice
 * on machines without a desktop session (servers, CI) whenever an adapter is
 * requested, which `--backend auto` does on every run: give them a private
 * folder when the variable is unset.
 */
function ensureRuntimeDir(): void {
  if (Deno.env.get("XDG_RUNTIME_DIR") || Deno.build.os === "windows") return;
  const dir = `${Deno.env.get("TMPDIR") ?? "/tmp"}/selftrain-xdg-${
    Deno.uid() ?? 0
  }`;
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    Deno.env.set("XDG_RUNTIME_DIR", dir);
  } catch {
    // Without it the drivers only complain.
  }
}

async function requestAdapter(): Promise<FoundAdapter | null> {
  ensureRuntimeDir();
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter({
    powerPreference: "high-performance",
  });
  if (!adapter) return null;
  const info = adapter.info as GPUAdapterInfo & {
    isFallbackAdapter?: boolean;
  };
  const fallback = (adapter as { isFallbackAdapter?: boolean })
    .isFallbackAdapter;
  const summary = {
    vendor: String(info?.vendor ?? ""),
    architecture: String(info?.architecture ?? ""),
    device: String(info?.device ?? ""),
    description: String(info?.description ?? ""),
  };
  const software = isSoftwareAdapter({
    ...summary,
    isFallbackAdapter: info?.isFallbackAdapter === true || fallback === true,
  });
  return { adapter, summary: { ...summary, software } };
}

/**
 * The WebGPU adapter of this process (requested once; a device created from
 * it later does not invalidate this summary), or null when there is none.
 */
export function gpuAdapter(): Promise<GpuAdapterSummary | null> {
  adapterPromise ??= requestAdapter().catch(() => null);
  return adapterPromise.then((found) => found?.summary ?? null);
}

/**
 * The package's backend with a synchronous read that fails with a clear
 * message instead of a canvas error when the data is on the GPU.
 */
class DenoWebGPUBackend extends WebGPUBackend {
  override readSync(dataId: object): tf.backend_util.BackendValues {
    const data = this.tensorMap.get(dataId);
    if (data.values != null || data.dtype === "string" || canReadSync()) {
      return super.readSync(dataId);
    }
    throw new Error(
      "webgpu: synchronous read-back (dataSync/arraySync/bufferSync, or a kernel that reads its input on the CPU) is not possible in this runtime (no 2d canvas); use await tensor.data()",
    );
  }
}

function canReadSync(): boolean {
  try {
    return typeof OffscreenCanvas === "function" &&
      new OffscreenCanvas(1, 1).getContext("2d") !== null;
  } catch {
    return false;
  }
}

async function createBackend(): Promise<tf.KernelBackend> {
  const found = await (adapterPromise ??= requestAdapter());
  if (!found) throw new Error("webgpu: no WebGPU adapter");
  // The adapter is spent once a device exists: the next activation (after a
  // tf.removeBackend) asks for a fresh one.
  adapterPromise = null;
  const { adapter } = found;
  const requiredFeatures: GPUFeatureName[] = [];
  for (const name of ["timestamp-query", "bgra8unorm-storage"] as const) {
    if (adapter.features.has(name)) requiredFeatures.push(name);
  }
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    },
  });
  // tfjs reads only vendor and architecture from the info.
  const info = {
    vendor: found.summary.vendor,
    architecture: found.summary.architecture,
  } as unknown as GPUAdapterInfo;
  return new DenoWebGPUBackend(device, info);
}

// Importing the package registered its own factory (priority 3, above cpu
// and wasm, which would make tfjs start WebGPU by default); ours replaces it
// with a priority that tfjs never picks by itself.
if (tf.findBackendFactory("webgpu")) tf.removeBackend("webgpu");
tf.registerBackend("webgpu", createBackend, -1);

/** The `webgpu` backend provider (tfjs WebGPU on the built-in navigator.gpu). */
export const webgpuBackend: BackendProvider = {
  name: "webgpu",
  description:
    "tfjs WebGPU kernels on the runtime's navigator.gpu; needs a GPU with a Vulkan/Metal/D3D12 driver (or Mesa's lavapipe, mesa-vulkan-drivers, on the CPU for checking); auto uses it only on a hardware adapter",
  priority: 35,
  async probe(): Promise<ProbeResult> {
    const summary = await gpuAdapter();
    if (!summary) {
      return {
        ok: false,
        why:
          "no WebGPU adapter (navigator.gpu found no GPU driver; on Linux install a Vulkan driver, or mesa-vulkan-drivers for the CPU one)",
      };
    }
    const detail = `webgpu: ${adapterLine(summary)}`;
    return summary.software
      ? {
        ok: true,
        detail,
        notForAuto: `${
          adapterLine(summary)
        } runs on the CPU, slower than native/wasm; ask for --backend webgpu to use it`,
      }
      : { ok: true, detail };
  },
  activate(): Promise<void> {
    return useTfBackend("webgpu");
  },
};
