/**
 * Shared helpers for the engine tests: deterministic random data, running a
 * computation on a named backend, and the relative-error check.
 */
import * as tf from "@tensorflow/tfjs-core";
import { cpuBackend } from "../plugins/backends/cpu.ts";
import { nativeBackend } from "../plugins/backends/native.ts";
import { wasmBackend } from "../plugins/backends/wasm.ts";
import type { BackendProvider } from "../core/backend.ts";
import { loadBlas } from "../plugins/backends/native/blas_ffi.ts";

/** Whether a system BLAS is loadable here (native tests skip otherwise). */
export const HAS_BLAS: boolean = (() => {
  try {
    return loadBlas() !== null;
  } catch {
    return false;
  }
})();

if (!HAS_BLAS) {
  console.warn(
    "engine tests: no BLAS library found (apt-get install libdnnl2 or libopenblas0); native backend checks are skipped",
  );
}

/** Providers the parity tests compare against `cpu`. */
export const FAST: readonly BackendProvider[] = HAS_BLAS
  ? [wasmBackend, nativeBackend]
  : [wasmBackend];

/** The reference provider. */
export const REFERENCE: BackendProvider = cpuBackend;

/** Deterministic uniform values in [-1, 1) (LCG), independent of tfjs. */
export function randomValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

/** Runs `fn` on `provider` and returns its outputs as arrays. */
export async function runOn(
  provider: BackendProvider,
  fn: () => tf.Tensor[],
): Promise<Float32Array[]> {
  await provider.activate();
  const outs = tf.tidy(fn);
  const values = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  return values;
}

/** max |a - b| / max |b|: the relative error used by the parity tests. */
export function relativeError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) return Infinity;
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-12);
}
