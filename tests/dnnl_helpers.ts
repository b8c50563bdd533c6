/**
 * Shared by the oneDNN tests: whether a family of oneDNN primitives is
 * usable here, native's outputs checked against the cpu backend's, the
 * same bits on two runs, and no reference (non-JIT) kernel among those run.
 */
import assert from "node:assert/strict";
import type * as tf from "@tensorflow/tfjs-core";
import { nativeBackend } from "../plugins/backends/native.ts";
import { HAS_BLAS, REFERENCE, relativeError, runOn } from "./engine_helpers.ts";

/** Registers a oneDNN test: its name and body. */
export type DnnlTest = (name: string, fn: () => void | Promise<void>) => void;

/**
 * A {@link DnnlTest} for the oneDNN primitives `load` opens: its tests are
 * skipped, with one warning naming the `test` tests, where BLAS or those
 * primitives are not usable here.
 */
export function dnnlTests(test: string, load: () => unknown): DnnlTest {
  const usable = HAS_BLAS && load() !== null;
  if (!usable) console.warn(`${test} test: libdnnl.so.2 not usable; skipped`);
  return (name, fn) => Deno.test({ name, ignore: !usable, fn });
}

/** How {@link nativeMatchesCpu} compares. */
export interface MatchOptions {
  /** Largest relative error of each output (default 1e-4). */
  tol?: number;
  /** Names output `i` in a failure (default `output i`). */
  label?: (i: number) => string;
  /** What cpu runs instead of `fn` (the same computation by other ops). */
  reference?: () => tf.Tensor[];
}

/**
 * Runs `fn` on native and `reference` (default `fn`) on cpu; asserts the
 * same number of outputs, each within `tol` relative error of cpu's.
 * Returns both backends' outputs.
 */
export async function nativeMatchesCpu(
  fn: () => tf.Tensor[],
  { tol = 1e-4, label = (i) => `output ${i}`, reference = fn }: MatchOptions =
    {},
): Promise<{ want: Float32Array[]; got: Float32Array[] }> {
  const want = await runOn(REFERENCE, reference);
  const got = await runOn(nativeBackend, fn);
  assert.equal(got.length, want.length, "number of outputs");
  for (let i = 0; i < want.length; i++) {
    const err = relativeError(got[i], want[i]);
    assert.ok(err <= tol, `${label(i)}: ${err}`);
  }
  return { want, got };
}

/** Asserts `a` and `b` hold the same bits, output by output. */
export function assertSameBits(
  a: Float32Array[],
  b: Float32Array[],
  label: (i: number) => string,
): void {
  assert.equal(a.length, b.length, "number of outputs");
  for (let i = 0; i < a.length; i++) {
    assert.ok(
      a[i].every((v, j) => Object.is(v, b[i][j])),
      `${label(i)} differs between runs`,
    );
  }
}

/** Logs oneDNN's implementations `impls` and asserts none is a reference kernel. */
export function assertJitOnly(impls: string[]): void {
  console.log(`oneDNN implementations: ${impls.join(", ")}`);
  assert.ok(
    impls.every((name) => !name.startsWith("ref")),
    "no reference kernel",
  );
}
