/**
 * The wasm backend's threaded GEMM (kernels/gemm_pool.ts on simd/gemm.c)
 * against a plain float64 triple loop, over the shapes that exercise its
 * blocking: partial micro-tiles (m, n not multiples of 6 and 8), k across
 * several KC panels, all four transpose combinations, row and column
 * splits between threads, and memory growth between calls.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { GemmPool } from "../plugins/backends/kernels/gemm_pool.ts";
import {
  GEMM_SOURCE_SHA256,
  GEMM_WASM_BASE64,
} from "../plugins/backends/kernels/simd/gemm_wasm.ts";
import { sectionIds, sourceSha256 } from "../tools/build_wasm.ts";
import { randomValues, relativeError, runOn } from "./engine_helpers.ts";
import { startWasmThreads, wasmBackend } from "../plugins/backends/wasm.ts";
import { cpuBackend } from "../plugins/backends/cpu.ts";

function reference(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) {
        s += a[transA ? q * m + i : i * k + q] *
          b[transB ? j * k + q : q * n + j];
      }
      out[i * n + j] = s;
    }
  }
  return out;
}

// [m, n, k]: tile edges, several KC (256) panels, wide-and-short C (column
// split), tall C (row split), one-row and one-column products.
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [5, 7, 3],
  [6, 8, 256],
  [13, 17, 257],
  [97, 33, 600],
  [8, 200, 70],
  [3, 130, 40],
  [300, 5, 90],
  [64, 64, 0],
];

for (const threads of [1, 2, 3]) {
  Deno.test(`gemm pool: ${threads} thread(s) match a float64 triple loop on every shape and transpose`, async () => {
    // minParallelFlops 0: even the small products are split across threads.
    const pool = await GemmPool.start(threads, { minParallelFlops: 0 });
    try {
      let seed = 1;
      for (const [m, n, k] of SHAPES) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            const a = randomValues(m * k, seed++);
            const b = randomValues(k * n, seed++);
            const out = new Float32Array(m * n + 3).fill(-7);
            pool.gemm({ transA, transB, m, n, k, a, b }, out);
            const want = reference(transA, transB, m, n, k, a, b);
            const what = `${m}x${n}x${k} transA=${transA} transB=${transB}`;
            for (let i = 0; i < m * n; i++) {
              const tol = 1e-5 * Math.max(1, Math.sqrt(k));
              if (!(Math.abs(out[i] - want[i]) <= tol)) {
                assert.fail(`${what}: C[${i}] = ${out[i]}, want ${want[i]}`);
              }
            }
            // nothing written past C
            assert.deepEqual([...out.subarray(m * n)], [-7, -7, -7], what);
          }
        }
      }
    } finally {
      pool.close();
    }
  });
}

Deno.test("gemm pool: a large product after small ones grows the workspace once and stays exact", async () => {
  const pool = await GemmPool.start(2);
  try {
    const m = 700, n = 96, k = 1100;
    const a = randomValues(m * k, 5), b = randomValues(k * n, 6);
    const small = new Float32Array(4);
    pool.gemm({
      transA: false,
      transB: false,
      m: 2,
      n: 2,
      k: 2,
      a: a.subarray(0, 4),
      b: b.subarray(0, 4),
    }, small);
    const out = new Float32Array(m * n);
    const before = pool.workspaceBytes;
    pool.gemm({ transA: false, transB: false, m, n, k, a, b }, out);
    const want = reference(false, false, m, n, k, a, b);
    assert.ok(relativeError(out, want) < 1e-5);
    const grown = pool.workspaceBytes;
    assert.ok(grown > before, "the workspace grew for the large product");
    // the same product again, and smaller ones, reuse the workspace
    for (let i = 0; i < 3; i++) {
      pool.gemm(
        { transA: true, transB: false, m: 300, n, k: 500, a, b },
        new Float32Array(300 * n),
      );
      pool.gemm({ transA: false, transB: false, m, n, k, a, b }, out);
    }
    assert.ok(relativeError(out, want) < 1e-5);
    assert.equal(pool.workspaceBytes, grown);
  } finally {
    pool.close();
  }
});

Deno.test("gemm pool: rejects a thread count that is not a positive integer", async () => {
  await assert.rejects(() => GemmPool.start(0), /threads must be an integer/);
  await assert.rejects(() => GemmPool.start(1.5), /threads must be an integer/);
});

Deno.test("gemm.c: committed bytes match the source and import a shared memory only", async () => {
  const sha = await sourceSha256(
    new URL("../plugins/backends/kernels/simd/gemm.c", import.meta.url),
  );
  assert.equal(GEMM_SOURCE_SHA256, sha, "run deno task build:wasm");
  const bytes = Uint8Array.from(atob(GEMM_WASM_BASE64), (c) => c.charCodeAt(0));
  const ids = sectionIds(bytes);
  assert.ok(!ids.includes(5) && !ids.includes(11), "no memory or data");
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(bytes));
  assert.deepEqual(imports, [{
    module: "env",
    name: "memory",
    kind: "memory",
  }]);
});

Deno.test("wasm backend: convolution and matmul large enough to use every thread match cpu", async () => {
  const run = () => {
    const x = tf.tensor4d(randomValues(2 * 20 * 18 * 32, 1), [2, 20, 18, 32]);
    const f = tf.tensor4d(randomValues(3 * 3 * 32 * 40, 2), [3, 3, 32, 40]);
    const y = tf.conv2d(x, f, 1, "same");
    const dy = tf.tensor4d(randomValues(y.size, 3), y.shape);
    const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same")
    )([x, f], dy);
    const a = tf.tensor2d(randomValues(300 * 200, 4), [300, 200]);
    const b = tf.tensor2d(randomValues(300 * 150, 5), [300, 150]);
    return [y, dx, df, tf.matMul(a, b, true, false)];
  };
  const line = await startWasmThreads();
  assert.match(line, /^wasm: GEMM on \d+ thread\(s\)$/);
  const want = await runOn(cpuBackend, run);
  const got = await runOn(wasmBackend, run);
  for (let i = 0; i < want.length; i++) {
    const err = relativeError(got[i], want[i]);
    assert.ok(err <= 1e-4, `output ${i}: relative error ${err}`);
  }
});
