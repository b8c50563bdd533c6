/**
 * The SIMD helper modules compiled from this folder's C sources (see
 * tools/build_wasm.ts), instantiated on the tfjs wasm heap so they work on
 * tensors in place. `SELFTRAIN_SIMD=0` turns them off (the JS loops run).
 */
import { KERNELS_WASM_BASE64 } from "./kernels_wasm.ts";

/** Exports of kernels.c; addresses are byte offsets in the heap. */
export interface SimdKernels {
  /** Writes the column matrix of the image at `x` to `col`. */
  im2col(x: number, col: number, ...geometry: number[]): void;
  /** Adds the column matrix at `col` onto the image at `x`. */
  col2im(col: number, x: number, ...geometry: number[]): void;
  /**
   * Adds `bias` (0: none) to each row of `out` [rows, cols] and applies
   * `activation` (0 linear, 1 relu, 2 relu6) in place.
   */
  bias_activation(
    out: number,
    bias: number,
    rows: number,
    cols: number,
    activation: number,
  ): void;
  /** out = x·coef[c] + coef[cols + c] over x [rows, cols]. */
  channel_affine(
    x: number,
    out: number,
    rows: number,
    cols: number,
    coef: number,
  ): void;
  /** out = dy·coef[c] + x·coef[cols + c] + coef[2·cols + c]. */
  channel_affine2(
    dy: number,
    x: number,
    out: number,
    rows: number,
    cols: number,
    coef: number,
  ): void;
  /**
   * Per-channel sums in double into acc (2·cols doubles): Σx, and with
   * `y` (0: none) Σx·(y − centre[c]).
   */
  channel_sums(
    x: number,
    y: number,
    centre: number,
    rows: number,
    cols: number,
    acc: number,
  ): void;
  /** MaxPoolGrad into the zeroed `dx` (first maximum of a window wins). */
  max_pool_grad(x: number, dy: number, dx: number, ...geometry: number[]): void;
  /** Winograd input transform of x into v (geometry: winograd.ts inputArgs). */
  winograd_input(x: number, v: number, ...geometry: number[]): void;
  /** Winograd filter transform of g [9, n] into u [16, n]. */
  winograd_filter(g: number, u: number, n: number): void;
  /** Winograd output transform of m into y (geometry: winograd.ts outputArgs). */
  winograd_output(m: number, y: number, ...geometry: number[]): void;
}

let compiled: WebAssembly.Module | null | undefined;
const instances = new WeakMap<WebAssembly.Memory, SimdKernels>();

function simdDisabled(): boolean {
  try {
    return Deno.env.get("SELFTRAIN_SIMD") === "0";
  } catch {
    return false; // no --allow-env: keep the default
  }
}

function compile(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    const bytes = Uint8Array.from(
      atob(KERNELS_WASM_BASE64),
      (c) => c.charCodeAt(0),
    );
    compiled = simdDisabled() ? null : new WebAssembly.Module(bytes);
  } catch {
    compiled = null; // a runtime without wasm SIMD: the JS loops run
  }
  return compiled;
}

/** Whether the SIMD kernels can run in this runtime (and are not turned off). */
export function simdAvailable(): boolean {
  return compile() !== null;
}

/** kernels.c bound to `memory`, or null when SIMD wasm is unavailable. */
export function simdKernelsOn(
  memory: WebAssembly.Memory | undefined,
): SimdKernels | null {
  if (!memory) return null;
  const cached = instances.get(memory);
  if (cached) return cached;
  const module = compile();
  if (!module) return null;
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const exports = instance.exports as unknown as SimdKernels;
  instances.set(memory, exports);
  return exports;
}
