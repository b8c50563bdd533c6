/**
 * The system BLAS loader: every library of BLAS_CANDIDATES that opens on
 * this machine (oneDNN's dnnl_sgemm and OpenBLAS's cblas_sgemm here) is
 * checked against a float64 GEMM in JS over all transpose flags, alpha,
 * beta and leading dimensions wider than the matrices.
 */
import assert from "node:assert/strict";
import {
  BLAS_CANDIDATES,
  openBlasLibrary,
} from "../plugins/backends/native/blas_ffi.ts";
import type { Blas } from "../plugins/backends/native/blas_ffi.ts";
import { randomValues } from "./engine_helpers.ts";

function available(): Blas[] {
  const found: Blas[] = [];
  for (const path of BLAS_CANDIDATES) {
    try {
      found.push(openBlasLibrary(path));
    } catch {
      // not installed here
    }
  }
  return found;
}

/** Row-major C = alpha·op(A)·op(B) + beta·C in float64. */
function reference(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  beta: number,
  c: Float32Array,
  ldc: number,
): Float64Array {
  const out = new Float64Array(c.length);
  for (let i = 0; i < c.length; i++) out[i] = c[i];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * lda + i] : a[i * lda + p];
        const bv = transB ? b[j * ldb + p] : b[p * ldb + j];
        sum += av * bv;
      }
      out[i * ldc + j] = alpha * sum + beta * c[i * ldc + j];
    }
  }
  return out;
}

const libraries = available();
if (libraries.length === 0) {
  console.warn("blas test: no BLAS library installed; sgemm checks skipped");
}

for (const blas of libraries) {
  Deno.test(`blas: ${blas.library} (${blas.api}) sgemm matches float64`, () => {
    const [m, n, k] = [37, 29, 53];
    let seed = 1;
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2;
        const ldc = n + 5;
        const a = randomValues((transA ? k : m) * lda, seed++);
        const b = randomValues((transB ? n : k) * ldb, seed++);
        const c = randomValues(m * ldc, seed++);
        const [alpha, beta] = [0.75, -0.5];
        const want = reference(
          transA,
          transB,
          m,
          n,
          k,
          alpha,
          a,
          lda,
          b,
          ldb,
          beta,
          c,
          ldc,
        );
        blas.sgemm(
          transA,
          transB,
          m,
          n,
          k,
          alpha,
          Deno.UnsafePointer.of(a),
          lda,
          Deno.UnsafePointer.of(b),
          ldb,
          beta,
          Deno.UnsafePointer.of(c),
          ldc,
        );
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < ldc; j++) {
            const at = i * ldc + j;
            // columns past n are padding: sgemm must leave them alone
            const tol = j < n ? 1e-4 * (1 + Math.abs(want[at])) : 0;
            assert.ok(
              Math.abs(c[at] - want[at]) <= tol,
              `transA ${transA} transB ${transB} at (${i}, ${j}): ${c[at]} vs ${
                want[at]
              }`,
            );
          }
        }
      }
    }
  });
}

Deno.test("blas: a library without sgemm is refused with its path named", () => {
  const libm = Deno.build.os === "linux" ? "libm.so.6" : null;
  if (!libm) return;
  assert.throws(
    () => openBlasLibrary(libm),
    /^Error: libm\.so\.6: has neither cblas_sgemm nor dnnl_sgemm$/,
  );
  assert.throws(
    () => openBlasLibrary("/nonexistent/libblas.so"),
    /\/nonexistent\/libblas\.so: cannot open/,
  );
});
