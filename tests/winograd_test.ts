/**
 * Winograd F(2×2, 3×3) (plugins/backends/kernels/winograd*.ts): the SIMD
 * transforms against the JS reference on a canary-filled memory, the whole
 * algorithm in plain JS against tfjs' cpu conv, the native / wasm paths
 * against cpu forward and backward, that the path is really taken, and that
 * the inference filter cache neither leaks nor goes stale (FusedConv2D:
 * fused_conv_test.ts).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  clearWinogradCache,
  setWinogradEnabled,
  winogradStats,
} from "../plugins/backends/kernels/winograd.ts";
import {
  inputArgs,
  outputArgs,
  tileCount,
  type Tiling,
  tilingOf,
  winogradFilter,
  winogradFilterGrad,
  winogradInput,
  winogradOutput,
  winogradOutputGrad,
} from "../plugins/backends/kernels/winograd_transforms.ts";
import { simdKernelsOn } from "../plugins/backends/kernels/simd/mod.ts";
import {
  WINOGRAD_SOURCE_SHA256,
  WINOGRAD_WASM_BASE64,
} from "../plugins/backends/kernels/simd/winograd_wasm.ts";
import { sectionIds, sourceSha256 } from "../tools/build_wasm.ts";
import { cpuBackend } from "../plugins/backends/cpu.ts";
import { nativeBackend } from "../plugins/backends/native.ts";
import {
  randomValues,
  REFERENCE,
  relativeError,
  runOn,
} from "./engine_helpers.ts";
import { checkParity, t4, WINOGRAD_ON_NATIVE } from "./winograd_helpers.ts";

const TOL = 1e-4;
const CANARY = -12345.5;
/** [bias, activation code] of the output transform's epilogue tests. */
const EPILOGUES: [boolean, number][] = [
  [false, 0],
  [true, 0],
  [false, 1],
  [true, 1],
  [true, 2],
];

type Pad = "same" | "valid" | number | [[number, number], [number, number], [
  number,
  number,
], [number, number]];

interface Case {
  x: [number, number, number, number];
  cout: number;
  pad: Pad;
}

const EXPLICIT: Pad = [[0, 0], [1, 2], [2, 1], [0, 0]];
const CASES: Case[] = [
  { x: [2, 7, 9, 17], cout: 19, pad: "same" },
  { x: [3, 8, 6, 16], cout: 21, pad: "valid" },
  { x: [2, 9, 8, 18], cout: 16, pad: EXPLICIT },
  { x: [2, 5, 6, 20], cout: 18, pad: 2 },
  { x: [2, 8, 8, 64], cout: 32, pad: "same" }, // padded planes (32 tiles)
  // ≥ 256 tiles: training (forward under the tape, dx, dW) by Winograd too
  { x: [2, 33, 31, 16], cout: 17, pad: "same" },
  { x: [1, 36, 34, 17], cout: 16, pad: EXPLICIT },
  { x: [1, 35, 36, 16], cout: 18, pad: "valid" },
  { x: [1, 3, 4, 5], cout: 3, pad: "same" }, // thin: JS reference only
];

function infoOf(c: Case): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    c.x,
    [3, 3, c.x[3], c.cout],
    1,
    1,
    c.pad as "same",
    undefined,
    false,
    "channelsLast",
  );
}

function label(c: Case): string {
  return `x${c.x} cout ${c.cout} pad ${JSON.stringify(c.pad)}`;
}

function fill(h: Float32Array, at: number, n: number, seed: number): void {
  h.set(randomValues(n, seed), at);
}

function assertSameHeap(h: Float32Array, ref: Float32Array, what: string) {
  for (let i = 0; i < h.length; i++) {
    if (!Object.is(h[i], ref[i])) {
      assert.fail(`${what}: float ${i} is ${h[i]}, expected ${ref[i]}`);
    }
  }
}

/** A canary-filled memory with the SIMD kernels bound to it. */
function freshHeap() {
  const memory = new WebAssembly.Memory({ initial: 64 }); // 4 MiB
  const h = new Float32Array(memory.buffer).fill(CANARY);
  const simd = simdKernelsOn(memory);
  assert.ok(simd, "SIMD kernels should load on Deno");
  return { h, simd };
}

for (const c of CASES) {
  // two rows of padding per plane: rows past the tiles must stay untouched
  const T = tileCount(tilingOf(infoOf(c)));
  const t: Tiling = tilingOf(infoOf(c), T + 2);
  const xSize = c.x[0] * c.x[1] * c.x[2] * c.x[3];
  // odd float offsets: the SIMD loads must not assume alignment
  const a = 1001, b = a + 16 * (T + 2) * Math.max(t.inC, t.outC) + xSize + 37;

  Deno.test(`winograd simd input transform = JS, writes only V: ${label(c)}`, () => {
    const { h, simd } = freshHeap();
    fill(h, a, xSize, 1);
    const ref = h.slice();
    winogradInput(ref, a, b, t);
    simd.winograd_input(a * 4, b * 4, ...inputArgs(t));
    assertSameHeap(h, ref, "winograd_input");
  });

  Deno.test(`winograd simd output transform = JS, writes only Y: ${label(c)}`, () => {
    // with FusedConv2D's epilogues: also = the unfused transform followed by
    // kernels.c's bias_activation, bit for bit
    const pixels = t.batch * t.outH * t.outW, bias = 3; // odd, below a
    for (const [withBias, act] of EPILOGUES) {
      const what = `winograd_output bias ${withBias} activation ${act}`;
      const { h, simd } = freshHeap();
      fill(h, a, 16 * (T + 2) * t.outC, 2);
      // ×6: outputs past the relu6 clamp, negative ones for relu
      h.set(randomValues(t.outC, 3).map((v) => 6 * v), bias);
      const at = withBias ? bias : null;
      const ref = h.slice(), unfused = freshHeap();
      unfused.h.set(h);
      winogradOutput(ref, a, b, t, at, act);
      simd.winograd_output(a * 4, b * 4, 4 * (at ?? 0), act, ...outputArgs(t));
      assertSameHeap(h, ref, what);
      unfused.simd.winograd_output(a * 4, b * 4, 0, 0, ...outputArgs(t));
      unfused.simd.bias_activation(b * 4, 4 * (at ?? 0), pixels, t.outC, act);
      assertSameHeap(h, unfused.h, `${what} vs unfused`);
    }
  });

  Deno.test(`winograd simd filter transform = JS, writes only U: ${label(c)}`, () => {
    const { h, simd } = freshHeap();
    const n = t.inC * t.outC;
    fill(h, a, 9 * n, 3);
    const ref = h.slice();
    winogradFilter(ref, a, b, n);
    simd.winograd_filter(a * 4, b * 4, n);
    assertSameHeap(h, ref, "winograd_filter");
  });

  Deno.test(`winograd simd gradient transforms = JS, write only dM / dW: ${label(c)}`, () => {
    const { h, simd } = freshHeap();
    const n = t.inC * t.outC;
    fill(h, a, 16 * (T + 2) * Math.max(t.outC, n / t.outC), 4);
    const ref = h.slice();
    winogradOutputGrad(ref, a, b, t);
    simd.winograd_output_grad(a * 4, b * 4, ...outputArgs(t));
    assertSameHeap(h, ref, "winograd_output_grad");
    winogradFilterGrad(ref, a, b, n);
    simd.winograd_filter_grad(a * 4, b * 4, n);
    assertSameHeap(h, ref, "winograd_filter_grad");
  });

  Deno.test(`winograd gradient transforms are the adjoints: ${label(c)}`, () => {
    // <out(m), dy> = <m, outGrad(dy)> and <filter(g), du> = <g, filterGrad(du)>
    const n = t.inC * t.outC, M = 16 * (T + 2) * t.outC;
    const Y = t.batch * t.outH * t.outW * t.outC;
    const dot = (h: Float32Array, p: number, q: number, len: number) => {
      let sum = 0;
      for (let i = 0; i < len; i++) sum += h[p + i] * h[q + i];
      return sum;
    };
    const check = (lhs: number, rhs: number, what: string) =>
      assert.ok(
        Math.abs(lhs - rhs) <= 1e-4 * Math.abs(rhs) + 1e-3,
        `${what}: ${lhs} vs ${rhs}`,
      );
    const h = new Float32Array(2 * M + 2 * Y + 50 * n);
    const m = 0, dm = M, y = 2 * M, dy = y + Y;
    fill(h, m, M, 5);
    fill(h, dy, Y, 6);
    for (let k = 0; k < 16; k++) {
      h.fill(0, m + (k * (T + 2) + T) * t.outC, m + (k + 1) * (T + 2) * t.outC);
    }
    winogradOutput(h, m, y, t);
    winogradOutputGrad(h, dy, dm, t);
    check(dot(h, y, dy, Y), dot(h, m, dm, M), "output");
    const g = dy + Y, u = g + 9 * n, du = u + 16 * n, dg = du + 16 * n;
    fill(h, g, 9 * n, 7);
    fill(h, du, 16 * n, 8);
    winogradFilter(h, g, u, n);
    winogradFilterGrad(h, du, dg, n);
    check(dot(h, u, du, 16 * n), dot(h, g, dg, 9 * n), "filter");
  });

  Deno.test(`winograd in plain JS matches the cpu conv2d: ${label(c)}`, async () => {
    const x = randomValues(xSize, 4), g = randomValues(9 * t.inC * t.outC, 5);
    const [want] = await runOn(REFERENCE, () => [
      tf.conv2d(
        tf.tensor4d(x, c.x),
        tf.tensor4d(g, [3, 3, t.inC, t.outC]),
        1,
        c.pad as "same",
      ),
    ]);
    const P = T + 2, V = 16 * P * t.inC, U = 16 * t.inC * t.outC;
    const M = 16 * P * t.outC;
    const h = new Float32Array(
      xSize + 9 * t.inC * t.outC + V + U + M + want.length,
    );
    const gOff = xSize, vOff = gOff + g.length, uOff = vOff + V;
    const mOff = uOff + U, yOff = mOff + M;
    h.set(x);
    h.set(g, gOff);
    winogradInput(h, 0, vOff, t);
    winogradFilter(h, gOff, uOff, t.inC * t.outC);
    for (let k = 0; k < 16; k++) {
      for (let i = 0; i < T; i++) {
        for (let o = 0; o < t.outC; o++) {
          let s = 0;
          for (let ci = 0; ci < t.inC; ci++) {
            s += h[vOff + (k * P + i) * t.inC + ci] *
              h[uOff + (k * t.inC + ci) * t.outC + o];
          }
          h[mOff + (k * P + i) * t.outC + o] = s;
        }
      }
    }
    winogradOutput(h, mOff, yOff, t);
    const err = relativeError(h.subarray(yOff), want);
    assert.ok(err <= TOL, `relative error ${err}`);
  });
}

for (const c of CASES.slice(0, -1)) {
  Deno.test(`winograd conv2d forward, dx and dW match cpu: ${label(c)}`, async () => {
    const pad = c.pad as "same";
    // the plain forward; with enough tiles also the forward under the tape,
    // dx (a forward conv of dy) and dW
    const training = tileCount(tilingOf(infoOf(c))) >= 256;
    const want = training
      ? { convs: 3, filterGrads: 1 }
      : { convs: 1, filterGrads: 0 };
    await checkParity(
      label(c),
      () => {
        const x = t4(c.x, 6), f = t4([3, 3, c.x[3], c.cout], 7);
        const y = tf.conv2d(x, f, 1, pad);
        const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, pad)
        )([x, f], t4(y.shape, 8));
        return [y, dx, df];
      },
      (taken, backend) =>
        assert.deepEqual(taken, want, `${backend} took Winograd`),
    );
  });
}

Deno.test({
  name: "winograd off (setWinogradEnabled(false)) falls back to im2col",
  ignore: !WINOGRAD_ON_NATIVE,
  async fn() {
    const before = setWinogradEnabled(false);
    try {
      const { convs } = await checkParity("off", () => [
        tf.conv2d(t4([2, 6, 6, 16], 12), t4([3, 3, 16, 16], 13), 1, "same"),
      ]);
      assert.equal(convs, 0);
    } finally {
      setWinogradEnabled(before);
    }
  },
});

Deno.test({
  name: "winograd filter cache: one transform per filter, freed when stale",
  ignore: !WINOGRAD_ON_NATIVE,
  async fn() {
    await nativeBackend.activate();
    clearWinogradCache();
    const backend = tf.engine().backend;
    const x = t4([2, 32, 32, 16], 14); // 512 tiles: training uses it too
    const init = t4([3, 3, 16, 24], 15);
    const w = tf.variable(init); // shares init's dataId until init goes
    init.dispose();
    const infer = () => {
      const y = tf.conv2d(x, w, 1, "same");
      const values = y.dataSync();
      y.dispose();
      return values;
    };
    const first = infer();
    const s0 = winogradStats();
    assert.equal(s0.cachedFilters, 1);
    const ids = backend.numDataIds(), tensors = tf.memory().numTensors;
    for (let i = 0; i < 4; i++) assert.deepEqual(infer(), first);
    assert.equal(winogradStats().filterTransforms, s0.filterTransforms);
    assert.equal(backend.numDataIds(), ids);
    assert.equal(tf.memory().numTensors, tensors);
    // under a tape (forward and dx, whose filter is made per call): not cached
    for (let i = 0; i < 2; i++) {
      tf.dispose(
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same")
        )([x, w]),
      );
    }
    assert.equal(winogradStats().filterTransforms, s0.filterTransforms + 4);
    assert.equal(backend.numDataIds(), ids);
    // assign: a new dataId, so a new transform; the stale one is freed
    const next = t4([3, 3, 16, 24], 16);
    w.assign(next);
    next.dispose();
    assert.notDeepEqual(infer(), first);
    assert.equal(winogradStats().filterTransforms, s0.filterTransforms + 5);
    assert.equal(winogradStats().cachedFilters, 1);
    assert.equal(backend.numDataIds(), ids);
    w.dispose();
    x.dispose();
    clearWinogradCache();
    assert.equal(winogradStats().cachedBytes, 0);
    assert.equal(backend.numDataIds(), ids - 3);
  },
});

Deno.test("winograd stays off the cpu backend (forward and dx)", async () => {
  for (const provider of [cpuBackend]) {
    const before = winogradStats().convs;
    await runOn(provider, () => {
      const x = t4([2, 6, 6, 16], 1), f = t4([3, 3, 16, 16], 2);
      return [
        tf.conv2d(x, f, 1, "same"),
        ...tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same")
        )([x, f]),
      ];
    });
    assert.equal(winogradStats().convs, before, provider.name);
  }
});

Deno.test("winograd_wasm.ts: built from the current winograd.c, imports only the heap", async () => {
  const sha = await sourceSha256(
    new URL("../plugins/backends/kernels/simd/winograd.c", import.meta.url),
  );
  assert.equal(WINOGRAD_SOURCE_SHA256, sha, "run deno task build:wasm");
  const bytes = Uint8Array.from(
    atob(WINOGRAD_WASM_BASE64),
    (c) => c.charCodeAt(0),
  );
  const ids = sectionIds(bytes);
  assert.ok(!ids.includes(5) && !ids.includes(11), "memory or data section");
  assert.deepEqual(
    WebAssembly.Module.imports(new WebAssembly.Module(bytes)),
    [{ module: "env", name: "memory", kind: "memory" }],
  );
});
