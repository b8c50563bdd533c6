/**
 * Lists the WebGPU adapters this runtime sees, one JSON line each (for
 * bench/gpu_check.sh): the high-performance and the low-power choice, and
 * the fallback (software) adapter when one is offered.
 *
 *   deno run -A bench/gpu_adapters.ts
 */
import { adapterLine, isSoftwareAdapter } from "../plugins/backends/webgpu.ts";

const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
const seen = new Set<string>();
const asks: [string, GPURequestAdapterOptions][] = [
  ["high-performance", { powerPreference: "high-performance" }],
  ["low-power", { powerPreference: "low-power" }],
  ["fallback", { forceFallbackAdapter: true }],
];
for (const [request, options] of asks) {
  const adapter = gpu ? await gpu.requestAdapter(options) : null;
  if (!adapter) continue;
  const i = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const summary = {
    vendor: String(i.vendor ?? ""),
    architecture: String(i.architecture ?? ""),
    device: String(i.device ?? ""),
    description: String(i.description ?? ""),
  };
  const software = isSoftwareAdapter({
    ...summary,
    isFallbackAdapter: i.isFallbackAdapter,
  });
  const key = JSON.stringify(summary);
  if (seen.has(key)) continue;
  seen.add(key);
  console.log(JSON.stringify({
    check: "adapter",
    request,
    name: adapterLine({ ...summary, software }),
    ...summary,
    software,
  }));
}
if (seen.size === 0) {
  console.log(JSON.stringify({ check: "adapter", name: null, software: null }));
}
