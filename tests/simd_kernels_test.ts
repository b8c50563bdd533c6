/**
 * The SIMD heap kernels (plugins/backends/kernels/simd/kernels.c) against
 * the JS loops they replace, on a fresh WebAssembly.Memory filled with a
 * canary pattern: results must match and no byte outside the destination
 * may change (the module shares tfjs' heap, so a stray write would corrupt
 * other tensors).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  col2im,
  convGeometry,
  im2col,
} from "../plugins/backends/kernels/im2col.ts";
import { maxPoolGrad } from "../plugins/backends/kernels/pool_grad.ts";
import {
  type SimdKernels,
  simdKernelsOn,
} from "../plugins/backends/kernels/simd/mod.ts";
import {
  KERNELS_SOURCE_SHA256,
  KERNELS_WASM_BASE64,
} from "../plugins/backends/kernels/simd/kernels_wasm.ts";
import { sectionIds, sourceSha256 } from "../tools/build_wasm.ts";

const CANARY = -12345.5;

function freshHeap(): { memory: WebAssembly.Memory; simd: SimdKernels } {
  const memory = new WebAssembly.Memory({ initial: 64 }); // 4 MiB
  new Float32Array(memory.buffer).fill(CANARY);
  const simd = simdKernelsOn(memory);
  assert.ok(simd, "SIMD kernels should load on Deno");
  return { memory, simd };
}

function randomFill(h: Float32Array, at: number, n: number, seed: number) {
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    h[at + i] = (s / 2 ** 32) * 2 - 1;
  }
}

/** Asserts `h` equals `ref` everywhere (canaries included). */
function assertSameHeap(h: Float32Array, ref: Float32Array, what: string) {
  for (let i = 0; i < h.length; i++) {
    if (!Object.is(h[i], ref[i])) {
      assert.fail(`${what}: float ${i} is ${h[i]}, expected ${ref[i]}`);
    }
  }
}

const GEOMETRIES: [
  string,
  number[],
  number[],
  number,
  number,
  string | number,
][] = [
  // name, x shape, filter shape, stride, dilation, pad
  ["3x3 same", [2, 7, 9, 5], [3, 3, 5, 1], 1, 1, "same"],
  ["7x7/2 stem", [1, 16, 12, 3], [7, 7, 3, 1], 2, 1, "same"],
  ["3x3/2 valid", [2, 9, 8, 8], [3, 3, 8, 1], 2, 1, "valid"],
  ["3x3 dilation 2", [1, 10, 11, 6], [3, 3, 6, 1], 1, 2, "same"],
  ["1x1/2", [2, 6, 6, 12], [1, 1, 12, 1], 2, 1, 0],
  ["2x4 explicit pad", [1, 5, 7, 4], [2, 4, 4, 1], 1, 1, 2],
];

for (const [name, xShape, fShape, stride, dilation, pad] of GEOMETRIES) {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    fShape as [number, number, number, number],
    stride,
    dilation,
    pad as "same",
    undefined,
    false,
    "channelsLast",
  );
  const xSize = xShape.reduce((a, b) => a * b, 1);
  const colSize = info.batchSize * info.outHeight * info.outWidth *
    info.filterHeight * info.filterWidth * info.inChannels;
  // odd float offsets: the SIMD loads must not assume alignment
  const xOff = 1001, colOff = xOff + xSize + 37;

  Deno.test(`simd im2col matches the JS loop and writes only the columns: ${name}`, () => {
    const { memory, simd } = freshHeap();
    const h = new Float32Array(memory.buffer);
    randomFill(h, xOff, xSize, 7);
    const ref = h.slice();
    im2col(ref, xOff, colOff, info);
    simd.im2col(xOff * 4, colOff * 4, ...convGeometry(info));
    assertSameHeap(h, ref, `im2col ${name}`);
    assert.ok(ref.subarray(colOff, colOff + colSize).some((v) => v !== 0));
  });

  Deno.test(`simd col2im matches the JS loop and writes only the image: ${name}`, () => {
    const { memory, simd } = freshHeap();
    const h = new Float32Array(memory.buffer);
    randomFill(h, xOff, xSize, 3);
    randomFill(h, colOff, colSize, 11);
    const ref = h.slice();
    col2im(ref, colOff, xOff, info);
    simd.col2im(colOff * 4, xOff * 4, ...convGeometry(info));
    for (let i = 0; i < h.length; i++) {
      const tol = 1e-6 * (1 + Math.abs(ref[i]));
      if (Math.abs(h[i] - ref[i]) > tol || Number.isNaN(h[i])) {
        assert.fail(
          `col2im ${name}: float ${i} is ${h[i]}, expected ${ref[i]}`,
        );
      }
    }
  });
}

Deno.test("simd bias_activation: bias per column, relu / relu6 / linear, odd widths", () => {
  for (
    const [act, code] of [["linear", 0], ["relu", 1], ["relu6", 2]] as const
  ) {
    for (const withBias of [true, false]) {
      const { memory, simd } = freshHeap();
      const h = new Float32Array(memory.buffer);
      const rows = 5, cols = 7, out = 333, bias = 901;
      randomFill(h, out, rows * cols, 5);
      for (let i = 0; i < rows * cols; i++) h[out + i] *= 10;
      randomFill(h, bias, cols, 9);
      const ref = h.slice();
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          let v = ref[out + r * cols + c] + (withBias ? ref[bias + c] : 0);
          if (code >= 1) v = Math.max(v, 0);
          if (code === 2) v = Math.min(v, 6);
          ref[out + r * cols + c] = v;
        }
      }
      simd.bias_activation(out * 4, withBias ? bias * 4 : 0, rows, cols, code);
      assertSameHeap(h, ref, `bias_activation ${act} bias=${withBias}`);
    }
  }
});

const POOLS: [string, number[], number, number, string | number][] = [
  // name, x shape, window, stride, pad
  ["3x3/2 same, 64 ch", [2, 9, 8, 64], 3, 2, "same"],
  ["3x3/2 pad 1, 5 ch", [1, 7, 7, 5], 3, 2, 1],
  ["2x2/2 valid, 3 ch", [2, 6, 5, 3], 2, 2, "valid"],
  ["3x3/1 same, 6 ch", [1, 5, 6, 6], 3, 1, "same"],
  // stride past the window: rows between windows and at the end untouched
  ["2x2/3 valid, 4 ch", [2, 8, 7, 4], 2, 3, "valid"],
];

for (const [name, xShape, window, stride, pad] of POOLS) {
  Deno.test(`simd max_pool_grad matches the JS loop, ties to the first maximum: ${name}`, () => {
    const info = tf.backend_util.computePool2DInfo(
      xShape as [number, number, number, number],
      window,
      stride,
      1,
      pad as "same",
    );
    const xSize = xShape.reduce((a, b) => a * b, 1);
    const dySize = info.batchSize * info.outHeight * info.outWidth *
      info.inChannels;
    const xOff = 77, dyOff = xOff + xSize + 3, dxOff = dyOff + dySize + 5;
    const { memory, simd } = freshHeap();
    const h = new Float32Array(memory.buffer);
    randomFill(h, xOff, xSize, 13);
    // coarse values make ties common, so the tie rule is exercised
    for (let i = 0; i < xSize; i++) h[xOff + i] = Math.round(h[xOff + i] * 2);
    randomFill(h, dyOff, dySize, 17);
    const ref = h.slice();
    ref.fill(0, dxOff, dxOff + xSize); // the JS loop adds into a zeroed dx
    // the SIMD kernel zeroes dx itself: garbage there must not survive
    h.fill(NaN, dxOff, dxOff + xSize);
    maxPoolGrad(ref, xOff, dyOff, dxOff, info);
    simd.max_pool_grad(xOff * 4, dyOff * 4, dxOff * 4, ...convGeometry(info));
    assertSameHeap(h, ref, `max_pool_grad ${name}`);
  });
}

Deno.test("the SIMD module imports its memory and defines no memory or data", () => {
  const bytes = Uint8Array.from(
    atob(KERNELS_WASM_BASE64),
    (c) => c.charCodeAt(0),
  );
  const ids = sectionIds(bytes);
  assert.ok(!ids.includes(5), "memory section");
  assert.ok(!ids.includes(11), "data section");
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(bytes));
  assert.deepEqual(imports, [{
    module: "env",
    name: "memory",
    kind: "memory",
  }]);
});

Deno.test("kernels_wasm.ts was built from the current kernels.c (deno task build:wasm)", async () => {
  const sha = await sourceSha256(
    new URL("../plugins/backends/kernels/simd/kernels.c", import.meta.url),
  );
  assert.equal(KERNELS_SOURCE_SHA256, sha);
});
