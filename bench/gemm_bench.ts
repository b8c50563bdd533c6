/**
 * GEMMs on ResNet-18-shaped products: the wasm backend's GEMM pool
 * (plugins/backends/kernels/gemm_pool.ts), one thread (the baseline) against
 * every core, copies in and out included; and, in their own groups, every
 * system BLAS that opens here (native's candidates: oneDNN, OpenBLAS, ...),
 * the last candidate found being the baseline. Read the ratios, not the
 * times:
 *   deno bench -A bench/gemm_bench.ts
 */
import { GemmPool } from "../plugins/backends/kernels/gemm_pool.ts";
import {
  type Blas,
  BLAS_CANDIDATES,
  openBlasLibrary,
} from "../plugins/backends/native/blas_ffi.ts";

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
  ["winograd plane 2049x64x64", 2049, 64, 64, false, false],
  ["stem conv 32768x64x147", 32768, 64, 147, false, false],
];

const libraries: Blas[] = [];
for (const path of BLAS_CANDIDATES) {
  try {
    libraries.push(openBlasLibrary(path));
  } catch {
    // not installed here
  }
}

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
  const [pa, pb, pc] = [a, b, out].map((x) => Deno.UnsafePointer.of(x));
  for (const blas of libraries) {
    Deno.bench({
      name: `blas ${label} [${blas.library}]`,
      group: `blas ${label}`,
      baseline: blas === libraries[libraries.length - 1],
      fn() {
        blas.sgemm(
          transA,
          transB,
          m,
          n,
          k,
          1,
          pa,
          transA ? m : k,
          pb,
          transB ? k : n,
          0,
          pc,
          n,
        );
      },
    });
  }
}
