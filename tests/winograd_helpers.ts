/**
 * Shared by the Winograd and fused-conv tests: whether each fast backend
 * takes the Winograd path here, and a cpu parity check that also reports
 * what ran by Winograd (winogradStats() counts) on each backend.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { winogradStats } from "../plugins/backends/kernels/winograd.ts";
import { simdAvailable } from "../plugins/backends/kernels/simd/mod.ts";
import { nativeBackend } from "../plugins/backends/native.ts";
import {
  FAST,
  HAS_BLAS,
  randomValues,
  REFERENCE,
  relativeError,
  runOn,
} from "./engine_helpers.ts";
import { setDnnlConvEnabled } from "../plugins/backends/native/kernels_conv_dnnl.ts";

// These tests check native's Winograd path, which runs where oneDNN's
// convolutions are not installed or decline a geometry.
setDnnlConvEnabled(false);

/** Whether native takes the Winograd path here (BLAS and SIMD wasm). */
export const WINOGRAD_ON_NATIVE: boolean = HAS_BLAS && simdAvailable();
/** wasm takes it with the SIMD kernels and its GEMM thread pool. */
export const WINOGRAD_ON_WASM: boolean = simdAvailable() &&
  Deno.env.get("SELFTRAIN_WASM_THREADS") !== "0";

/** A 4-D tensor of {@link randomValues}. */
export function t4(shape: number[], seed: number): tf.Tensor4D {
  return tf.tensor4d(
    randomValues(tf.util.sizeFromShape(shape), seed),
    shape as [number, number, number, number],
  );
}

/** What ran by Winograd on one backend during one call of `fn`. */
export interface Taken {
  /** Convolutions (forward or dx) by Winograd. */
  convs: number;
  /** Filter gradients by Winograd. */
  filterGrads: number;
}

/**
 * Runs fn on cpu and every fast backend, each output within relative error
 * `tol` of cpu's; `check` sees what each backend that takes the Winograd
 * path here ran by it. Returns what native took.
 */
export async function checkParity(
  name: string,
  fn: () => tf.Tensor[],
  check?: (taken: Taken, backend: string) => void,
  tol = 1e-4,
): Promise<Taken> {
  const want = await runOn(REFERENCE, fn);
  let native = { convs: 0, filterGrads: 0 };
  for (const provider of FAST) {
    const before = winogradStats();
    const got = await runOn(provider, fn);
    const taken = {
      convs: winogradStats().convs - before.convs,
      filterGrads: winogradStats().filterGrads - before.filterGrads,
    };
    if (provider === nativeBackend) native = taken;
    const on = provider === nativeBackend
      ? WINOGRAD_ON_NATIVE
      : WINOGRAD_ON_WASM;
    if (check && on) check(taken, provider.name);
    assert.equal(got.length, want.length);
    for (let i = 0; i < want.length; i++) {
      const err = relativeError(got[i], want[i]);
      assert.ok(
        err <= tol,
        `${name}: ${provider.name} output ${i} error ${err}`,
      );
    }
  }
  return native;
}
