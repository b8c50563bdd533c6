/**
 * The wasm backend's GEMM pool (plugins/backends/kernels/gemm_pool.ts) on
 * ResNet-18-shaped products: one thread (the baseline) against every core,
 * copies in and out included. Read the ratios, not the times:
 *   deno bench -A bench/gemm_bench.ts
 */
import { GemmPool } from "../plugins/backends/kernels/gemm_pool.ts";

const cores = navigator.hardwareConcurrency;
const pools = new Map<number, GemmPool>();
for (const threads of new Set([1, cores])) {
  pools.set(threads, await GemmPool.start(threads));
}
addEventListener("unload", () => pools.forEach((p) => p.close()));

// [label, m, n, k, transA, transB]: a forward conv (im2col · W), a filter
// gradient (colᵀ · dy), a strided input gradient (dy · Wᵀ), a Winograd plane.
const shapes: [string, number, number, number, boolean, boolean][] = [
  ["conv 8192x64x576", 8192, 64, 576, false, false],
  ["filter grad 576x64x8192 (Aᵀ)", 576, 64, 8192, true, false],
  ["input grad 2048x1152x128 (Bᵀ)", 2048, 1152, 128, false, true],
  ["winograd plane 512x128x128", 512, 128, 128, false, false],
];

for (const [label, m, n, k, transA, transB] of shapes) {
  const a = new Float32Array(m * k).map((_, i) => (i % 17) / 17 - 0.5);
  const b = new Float32Array(k * n).map((_, i) => (i % 13) / 13 - 0.5);
  const out = new Float32Array(m * n);
  for (const [threads, pool] of pools) {
    Deno.bench({
      name: `gemm ${label} [${threads} thread(s)]`,
      group: label,
      baseline: threads === 1,
      fn() {
        pool.gemm({ transA, transB, m, n, k, a, b }, out);
      },
    });
  }
}
