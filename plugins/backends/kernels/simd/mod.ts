/**
 * The SIMD helper modules compiled from this folder's C sources (see
 * tools/build_wasm.ts), instantiated on the tfjs wasm heap so they work on
 * tensors in place. `SELFTRAIN_SIMD=0` turns them off (the JS loops run).
 */
import { ACTIVATION_WASM_BASE64 } from "./activation_wasm.ts";
import { KERNELS_WASM_BASE64 } from "./kernels_wasm.ts";
import { WINOGRAD_WASM_BASE64 } from "./winograd_wasm.ts";
import { envOff } from "../../env.ts";

/** The modules whose exports make up {@link SimdKernels}. */
const MODULES_BASE64 = [
  KERNELS_WASM_BASE64,
  WINOGRAD_WASM_BASE64,
  ACTIVATION_WASM_BASE64,
];

/**
 * Exports of kernels.c, winograd.c and activation.c; addresses are heap
 * byte offsets.
 */
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
  /** Depthwise filter gradient (multiplier 1) of x and dy into dw [KH, KW, C]. */
  depthwise_filter_grad(
    x: number,
    dy: number,
    dw: number,
    ...geometry: number[]
  ): void;
  /** MaxPoolGrad into the zeroed `dx` (first maximum of a window wins). */
  max_pool_grad(x: number, dy: number, dx: number, ...geometry: number[]): void;
  /**
   * One fused SGD-momentum update of n floats (core/train/optimizer.ts):
   * reads w, m, g; writes wOut, mOut. `nesterov` is 0 or 1.
   */
  sgd_momentum(
    w: number,
    m: number,
    g: number,
    wOut: number,
    mOut: number,
    n: number,
    lr: number,
    mu: number,
    wd: number,
    nesterov: number,
  ): void;
  /** Winograd input transform of x into v (winograd_transforms.ts inputArgs). */
  winograd_input(x: number, v: number, ...geometry: number[]): void;
  /** Winograd filter transform of g [9, n] into u [16, n]. */
  winograd_filter(g: number, u: number, n: number): void;
  /**
   * Winograd output transform of m into y (geometry: outputArgs), adding
   * `bias` (0: none) and applying `activation` as `bias_activation`.
   */
  winograd_output(
    m: number,
    y: number,
    bias: number,
    activation: number,
    ...geometry: number[]
  ): void;
  /** Gradient of winograd_output: dy into dm (geometry: outputArgs). */
  winograd_output_grad(dy: number, dm: number, ...geometry: number[]): void;
  /** Gradient of winograd_filter: du [16, n] into dg [9, n]. */
  winograd_filter_grad(du: number, dg: number, n: number): void;
  /** out = x·sigmoid(x) over n floats. */
  swish_forward(x: number, out: number, n: number): void;
  /** dx = dy·(s + x·s·(1 − s)), s = sigmoid(x), over n floats. */
  swish_backward(x: number, dy: number, dx: number, n: number): void;
}

let compiled: WebAssembly.Module[] | null | undefined;
const instances = new WeakMap<WebAssembly.Memory, SimdKernels>();

function simdDisabled(): boolean {
  return envOff("SELFTRAIN_SIMD");
}

function compile(): WebAssembly.Module[] | null {
  if (compiled !== undefined) return compiled;
  try {
    compiled = simdDisabled()
      ? null
      : MODULES_BASE64.map((base64) =>
        new WebAssembly.Module(
          Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)),
        )
      );
  } catch {
    compiled = null; // a runtime without wasm SIMD: the JS loops run
  }
  return compiled;
}

/** Whether the SIMD kernels can run in this runtime (and are not turned off). */
export function simdAvailable(): boolean {
  return compile() !== null;
}

/** The C modules bound to `memory`, or null when SIMD wasm is unavailable. */
export function simdKernelsOn(
  memory: WebAssembly.Memory | undefined,
): SimdKernels | null {
  if (!memory) return null;
  const cached = instances.get(memory);
  if (cached) return cached;
  const modules = compile();
  if (!modules) return null;
  const exports = Object.assign(
    {},
    ...modules.map((m) =>
      new WebAssembly.Instance(m, { env: { memory } }).exports
    ),
  ) as SimdKernels;
  instances.set(memory, exports);
  return exports;
}
