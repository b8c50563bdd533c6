/**
 * `native`'s training batch norm (forward with statistics, backward with
 * γ / β gradients), FusedBatchNorm with given statistics, swish (forward,
 * gradient) and relu on oneDNN's multithreaded
 * primitives (dnnl_pointwise.ts), reading and writing the wasm heap in
 * place. These memory-bound passes were a third of an EfficientNet-B0 step
 * on our single-threaded SIMD kernels. Tensors below {@link MIN_FLOATS}
 * (an OpenMP fork and join would cost more than the pass), and shapes
 * oneDNN declines, go to the kernels registered before.
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  BATCH_NORM_GRAD_KERNEL,
  BATCH_NORM_STATS_KERNEL,
  BATCH_NORM_TRAIN_KERNEL,
} from "../../../core/nn/batch_norm.ts";
import {
  RELU_GRAD_KERNEL,
  SWISH_GRAD_KERNEL,
  SWISH_KERNEL,
} from "../../layers/activations.ts";
import {
  alloc,
  callKernel,
  free,
  heapKernel,
  offsetOf,
  type WasmBackendLike,
  type WasmKernelArgs,
} from "../kernels/heap.ts";
import type { DnnlPointwise, EltwiseAlg, NormShape } from "./dnnl_pointwise.ts";
import { heapPointer } from "./kernels_gemm.ts";

/**
 * Fewest floats a tensor needs for oneDNN: below it the single-threaded
 * SIMD kernels run, as PyTorch runs elementwise ops under its 32768-element
 * grain on one thread (squeeze-excitation vectors, 4×4 maps at batch 1).
 */
export const MIN_FLOATS = 2 ** 15;

/** Passes oneDNN ran, for tests. */
export const dnnlPointwiseCounts = {
  normForward: 0,
  normBackward: 0,
  eltwiseForward: 0,
  eltwiseBackward: 0,
};

let enabled = true;

/**
 * Turns the oneDNN path on or off at run time (off: the SIMD kernels run);
 * returns the previous setting.
 */
export function setDnnlPointwiseEnabled(on: boolean): boolean {
  const before = enabled;
  enabled = on;
  return before;
}

/** A heap kernel's function. */
export type KernelFunc = (
  args: WasmKernelArgs,
) => tf.TensorInfo | tf.TensorInfo[];

/** Float32 tensors, the first large enough for oneDNN (and the path on). */
export function eligible(...ts: (tf.TensorInfo | undefined)[]): boolean {
  return enabled &&
    ts.every((t) => t !== undefined && t.dtype === "float32") &&
    tf.util.sizeFromShape(ts[0]!.shape) >= MIN_FLOATS;
}

/**
 * Channels-last `x` as batch × spatial × channels, when γ-like `vectors`
 * are plain per-channel vectors.
 */
export function normShape(
  x: tf.TensorInfo,
  vectors: tf.TensorInfo[],
): NormShape | null {
  const channels = x.shape[x.shape.length - 1];
  const vectorOk = vectors.every((v) =>
    tf.util.sizeFromShape(v.shape) === channels
  );
  if (x.shape.length < 2 || !vectorOk || channels === 0) return null;
  const batch = x.shape[0];
  return {
    batch,
    spatial: tf.util.sizeFromShape(x.shape) / (batch * channels),
    channels,
  };
}

/**
 * Allocates `shapes`, runs `compute` on pointers (taken after every
 * allocation: it may grow the heap); null (all freed) when oneDNN declines.
 */
export function run(
  backend: WasmBackendLike,
  shapes: number[][],
  compute: (
    ptr: (t: tf.TensorInfo) => Deno.PointerValue,
    outs: tf.TensorInfo[],
  ) => boolean,
): tf.TensorInfo[] | null {
  const outs = shapes.map((s) => alloc(backend, s));
  const ptr = (t: tf.TensorInfo) => heapPointer(backend, offsetOf(backend, t));
  if (compute(ptr, outs)) return outs;
  for (const t of outs) free(backend, t);
  return null;
}

/** {@link run}, counted under `counter` when oneDNN ran it. */
function runCounted(
  counter: keyof typeof dnnlPointwiseCounts,
  ...args: Parameters<typeof run>
): tf.TensorInfo[] | null {
  const out = run(...args);
  if (out) dnnlPointwiseCounts[counter]++;
  return out;
}

/** Each tensor's heap pointer, under the same name. */
function pointers<K extends string>(
  ptr: (t: tf.TensorInfo) => Deno.PointerValue,
  ts: Record<K, tf.TensorInfo>,
): Record<K, Deno.PointerValue> {
  const out = {} as Record<K, Deno.PointerValue>;
  for (const k in ts) out[k] = ptr(ts[k]);
  return out;
}

/** Statistics by the stats kernel, y by FusedBatchNorm: the fallback. */
function separateForward(
  stats: KernelFunc,
  backendName: string,
  args: WasmKernelArgs,
): tf.TensorInfo[] {
  const { inputs: { x, gamma, beta }, backend } = args;
  const [mean, variance] = stats({
    inputs: { x },
    backend,
    attrs: {},
  }) as tf.TensorInfo[];
  const y = callKernel(backendName, "FusedBatchNorm", backend, {
    x,
    mean,
    variance,
    scale: gamma,
    offset: beta,
  }, { varianceEpsilon: epsilonOf(args) });
  return [y, mean, variance];
}

/** A batch-norm kernel's epsilon attr. */
export function epsilonOf(args: WasmKernelArgs): number {
  return (args.attrs?.epsilon ?? 0.001) as number;
}

/** The function of kernel `name` registered for `backendName` so far. */
export function kernelBefore(
  backendName: string,
  name: string,
): KernelFunc | null {
  return (tf.getKernel(name, backendName)?.kernelFunc ?? null) as
    | KernelFunc
    | null;
}

/**
 * A training batch norm pass on `tensors` (x first) and the per-channel
 * `vectors`, into x's shape and two channel vectors; null (fallback)
 * where ineligible or declined.
 */
function trainingNorm(
  counter: "normForward" | "normBackward",
  args: WasmKernelArgs,
  tensors: tf.TensorInfo[],
  vectors: tf.TensorInfo[],
  pass: (
    g: NormShape,
    epsilon: number,
    ptr: (t: tf.TensorInfo) => Deno.PointerValue,
    outs: tf.TensorInfo[],
  ) => boolean,
): tf.TensorInfo[] | null {
  const x = tensors[0];
  const g = eligible(...tensors, ...vectors) && normShape(x, vectors);
  if (!g) return null;
  const c = [g.channels];
  return runCounted(
    counter,
    args.backend,
    [x.shape, c, c],
    (ptr, outs) => pass(g, epsilonOf(args), ptr, outs),
  );
}

/**
 * The training batch norm's `[y, mean, variance]` on oneDNN, relu fused
 * into y when there is a `workspace` for its mask; null where declined.
 */
export function normForward(
  dnnl: DnnlPointwise,
  args: WasmKernelArgs,
  workspace?: tf.TensorInfo,
): tf.TensorInfo[] | null {
  const { x, gamma, beta } = args.inputs;
  return trainingNorm(
    "normForward",
    args,
    [x],
    [gamma, beta],
    (g, epsilon, ptr, [y, mean, variance]) =>
      dnnl.batchNormForward(g, epsilon, {
        ...pointers(ptr, { x, gamma, beta, y, mean, variance }),
        workspace: workspace && ptr(workspace),
      }),
  );
}

/**
 * The training batch norm's `[dx, dGamma, dBeta]` on oneDNN, dy masked by
 * the forward pass's relu `workspace` when given; null where declined.
 */
export function normBackward(
  dnnl: DnnlPointwise,
  args: WasmKernelArgs,
  workspace?: tf.TensorInfo,
): tf.TensorInfo[] | null {
  const { x, dy, mean, variance, gamma } = args.inputs;
  return trainingNorm(
    "normBackward",
    args,
    [x, dy],
    [mean, variance, gamma],
    (g, epsilon, ptr, [dx, dGamma, dBeta]) =>
      dnnl.batchNormBackward(g, epsilon, {
        ...pointers(ptr, { x, dy, mean, variance, gamma, dx, dGamma, dBeta }),
        workspace: workspace && ptr(workspace),
      }),
  );
}

/**
 * Kernel `name` of `backendName` running `fn`, and `rest` (by default the
 * kernel registered before) where `fn` returns null; none without a
 * fallback (no SIMD kernels: core's tfjs ops run). The original's setupFunc
 * is kept, so the original stays callable.
 */
export function withFallback(
  backendName: string,
  name: string,
  fn: (args: WasmKernelArgs) => tf.TensorInfo[] | null,
  rest: KernelFunc | null = kernelBefore(backendName, name),
): tf.KernelConfig[] {
  if (!rest) return [];
  return [{
    ...heapKernel(name, backendName, (args) => {
      const out = fn(args);
      if (!out) return rest(args);
      return out.length === 1 ? out[0] : out;
    }),
    setupFunc: tf.getKernel(name, backendName)?.setupFunc,
  }];
}

/**
 * The batch-norm (training and FusedBatchNorm), swish and relu kernels of
 * `backendName` on `dnnl`, each falling
 * back to the kernel of that name registered before (the training forward,
 * which had none, to the statistics kernel and FusedBatchNorm).
 */
export function dnnlPointwiseKernels(
  backendName: string,
  dnnl: DnnlPointwise,
): tf.KernelConfig[] {
  const before = (name: string) => kernelBefore(backendName, name);
  const kernel = (
    name: string,
    rest: KernelFunc | null,
    fn: (args: WasmKernelArgs) => tf.TensorInfo[] | null,
  ) => withFallback(backendName, name, fn, rest);
  const eltwise = (
    alg: EltwiseAlg,
    forwardName: string,
    gradName?: string,
    gradRest: KernelFunc | null = gradName ? before(gradName) : null,
  ) => [
    ...kernel(
      forwardName,
      before(forwardName),
      ({ inputs: { x }, backend }) => {
        if (!eligible(x)) return null;
        const n = tf.util.sizeFromShape(x.shape);
        return runCounted(
          "eltwiseForward",
          backend,
          [x.shape],
          (ptr, [y]) => dnnl.eltwiseForward(alg, n, ptr(x), ptr(y)),
        );
      },
    ),
    ...(gradName
      ? kernel(gradName, gradRest, ({ inputs: { x, dy }, backend }) => {
        if (!eligible(x, dy)) return null;
        const n = tf.util.sizeFromShape(x.shape);
        return runCounted(
          "eltwiseBackward",
          backend,
          [x.shape],
          (ptr, [dx]) => dnnl.eltwiseBackward(alg, n, ptr(x), ptr(dy), ptr(dx)),
        );
      })
      : []),
  ];
  const stats = before(BATCH_NORM_STATS_KERNEL);
  return [
    ...kernel(
      BATCH_NORM_TRAIN_KERNEL,
      stats && ((args) => separateForward(stats, backendName, args)),
      (args) => normForward(dnnl, args),
    ),
    ...kernel(
      BATCH_NORM_GRAD_KERNEL,
      before(BATCH_NORM_GRAD_KERNEL),
      (args) => normBackward(dnnl, args),
    ),
    // batch norm with given statistics (inference, where not folded)
    ...kernel("FusedBatchNorm", before("FusedBatchNorm"), (args) => {
      const { x, mean, variance, scale, offset } = args.inputs;
      const vectors = [mean, variance, scale, offset];
      const g = eligible(x, ...vectors) && normShape(x, vectors);
      if (!g) return null;
      return runCounted(
        "normForward",
        args.backend,
        [x.shape],
        (ptr, [y]) =>
          dnnl.batchNormForward(
            g,
            (args.attrs?.varianceEpsilon ?? 0.001) as number,
            pointers(ptr, {
              x,
              gamma: scale,
              beta: offset,
              y,
              mean,
              variance,
            }),
            true,
          ),
      );
    }),
    ...eltwise("swish", SWISH_KERNEL, SWISH_GRAD_KERNEL),
    // tfjs' relu gradient is Step and Multiply: one oneDNN pass instead,
    // those two kernels below its size
    ...eltwise("relu", "Relu", RELU_GRAD_KERNEL, (args) => {
      const { inputs: { x, dy }, backend } = args;
      const step = callKernel(backendName, "Step", backend, { x }, {
        alpha: 0,
      });
      const dx = callKernel(backendName, "Multiply", backend, {
        a: dy,
        b: step,
      });
      free(backend, step);
      return dx;
    }),
  ];
}
