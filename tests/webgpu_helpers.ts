/**
 * Shared pieces of the WebGPU tests: whether an adapter exists (the tests
 * are skipped, with one message, only when there is none at all), and a
 * runner that evaluates the same function, and its gradients, on `cpu` and
 * on `webgpu` from the same inputs and reports the largest difference.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "../core/gradients.ts";
import { gpuAdapter, webgpuBackend } from "../plugins/backends/webgpu.ts";

/** The adapter, or null: then every WebGPU test is ignored. */
export const ADAPTER = await gpuAdapter();

/** True when there is no WebGPU adapter at all. */
export const NO_WEBGPU: boolean = ADAPTER === null;

if (NO_WEBGPU) {
  console.warn(
    "webgpu tests skipped: navigator.gpu has no adapter here (run `deno run -A tools/ensure_deps.ts --test` to install mesa-vulkan-drivers)",
  );
}

/** Activates `cpu` or `webgpu`. */
export async function use(backend: "cpu" | "webgpu"): Promise<void> {
  if (backend === "webgpu") await webgpuBackend.activate();
  else await tf.setBackend("cpu");
}

/** An input of a parity case: shape, and a seed for its uniform values. */
export interface InputSpec {
  shape: number[];
  seed: number;
  /** Value range (default ±1). */
  range?: number;
}

/** Deterministic values for an input (same on every backend). */
export function inputValues(spec: InputSpec): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let s = spec.seed * 2654435761 >>> 0;
  const r = spec.range ?? 1;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 * 2 - 1) * r;
  }
  return out;
}

/** A function of the inputs to compare across backends. */
export type ParityFn = (...xs: tf.Tensor[]) => tf.Tensor;

/** Outputs and input gradients of one backend, as arrays. */
export interface ParityValues {
  y: Float32Array;
  grads: Float32Array[];
}

/**
 * Evaluates `f` on `backend` and, with `grad`, the gradients of
 * `sum(f(x) · w)` (w a fixed pseudo-random weight) with respect to every
 * input. Reads back asynchronously; leaves no tensor behind.
 */
export async function evaluate(
  backend: "cpu" | "webgpu",
  f: ParityFn,
  inputs: InputSpec[],
  grad: boolean,
): Promise<ParityValues> {
  await use(backend);
  const xs = inputs.map((s) => tf.tensor(inputValues(s), s.shape));
  const y = tf.tidy(() => f(...xs));
  const w = tf.tensor(inputValues({ shape: y.shape, seed: 97 }), y.shape);
  const gs = grad
    ? tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), w)))(xs)
    : [];
  const out: ParityValues = {
    y: await y.data() as Float32Array,
    grads: await Promise.all(
      gs.map(async (g) => await g.data()),
    ) as Float32Array[],
  };
  tf.dispose([...xs, y, w, ...gs]);
  return out;
}

/** Largest |a − b| over the largest |a| (at least 1e-3). */
export function relDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) {
    throw new Error(`length ${a.length} vs ${b.length}`);
  }
  let scale = 1e-3;
  for (const v of a) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    worst = Math.max(worst, Number.isNaN(d) ? Infinity : d);
  }
  return worst / scale;
}

/**
 * Runs `f` on cpu and webgpu; returns the worst relative difference of the
 * output and of each input gradient, labelled.
 */
export async function parity(
  f: ParityFn,
  inputs: InputSpec[],
  grad = true,
): Promise<Record<string, number>> {
  const ref = await evaluate("cpu", f, inputs, grad);
  const got = await evaluate("webgpu", f, inputs, grad);
  const out: Record<string, number> = { y: relDiff(ref.y, got.y) };
  ref.grads.forEach((g, i) => out[`d${i}`] = relDiff(g, got.grads[i]));
  return out;
}
