/**
 * The bias + activation epilogue of FusedConv2D and _FusedMatMul. The
 * common case (a bias per output channel, linear / relu / relu6) is an
 * {@link Epilogue}: a conv fuses it into its Winograd output transform, or
 * runs it as one in-place SIMD pass over the GEMM output; anything else
 * (prelu, leakyrelu, elu, sigmoid, broadcast biases) runs as tfjs kernels.
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  callKernel,
  free,
  offsetOf,
  simdKernels,
  type WasmBackendLike,
} from "./heap.ts";

/** A bias per output channel and a simple activation, applied in place. */
export interface Epilogue {
  /** 1-D float32, one per output channel; absent: no bias. */
  bias?: tf.TensorInfo;
  /** The activation applied after the bias. */
  activation: "linear" | "relu" | "relu6";
}

/** Activation codes of kernels.c's `bias_activation` and winograd.c. */
const ACTIVATION_CODES: Record<Epilogue["activation"], number> = {
  linear: 0,
  relu: 1,
  relu6: 2,
};

/** The activation code of `e` for the SIMD kernels (0 linear, 1, 2). */
export function activationCode(e: Epilogue): number {
  return ACTIVATION_CODES[e.activation];
}

/**
 * The fused op's bias and activation as an {@link Epilogue} when they are
 * one (activation linear, relu or relu6; bias absent or 1-D float32 of
 * `channels`), else null.
 */
export function simpleEpilogue(
  channels: number,
  inputs: Record<string, tf.TensorInfo | undefined>,
  attrs: tf.NamedAttrMap,
): Epilogue | null {
  const act = (attrs.activation ?? "linear") as string;
  const bias = inputs.bias;
  if (!Object.hasOwn(ACTIVATION_CODES, act)) return null;
  if (
    bias && (bias.shape.length !== 1 || bias.shape[0] !== channels ||
      bias.dtype !== "float32")
  ) {
    return null;
  }
  return { bias, activation: act as Epilogue["activation"] };
}

/**
 * Applies `e` to x [..., channels] in place by kernels.c's bias_activation
 * (tfjs kernels without the SIMD module); returns the result, which
 * replaces x (x is freed when it is not the result).
 */
export function applyEpilogue(
  backendName: string,
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  e: Epilogue,
): tf.TensorInfo {
  if (!e.bias && e.activation === "linear") return x;
  const simd = simdKernels(backend);
  if (!simd) {
    return generic(backendName, backend, x, { bias: e.bias }, {
      activation: e.activation,
    });
  }
  const cols = x.shape[x.shape.length - 1];
  simd.bias_activation(
    offsetOf(backend, x) * 4,
    e.bias ? offsetOf(backend, e.bias) * 4 : 0,
    tf.util.sizeFromShape(x.shape) / cols,
    cols,
    activationCode(e),
  );
  return x;
}

/** The epilogue as tfjs kernels: Add, then the activation's kernel. */
function generic(
  backendName: string,
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  inputs: Record<string, tf.TensorInfo | undefined>,
  attrs: tf.NamedAttrMap,
): tf.TensorInfo {
  const act = (attrs.activation ?? "linear") as string;
  let out = x;
  if (inputs.bias) {
    const next = callKernel(backendName, "Add", backend, {
      a: out,
      b: inputs.bias,
    });
    free(backend, out);
    out = next;
  }
  if (act === "linear") return out;
  const kernels: Record<string, [string, tf.NamedAttrMap]> = {
    relu: ["Relu", {}],
    relu6: ["Relu6", {}],
    elu: ["Elu", {}],
    sigmoid: ["Sigmoid", {}],
    leakyrelu: ["LeakyRelu", {
      alpha: (attrs.leakyreluAlpha ?? 0.2) as number,
    }],
  };
  let next: tf.TensorInfo;
  if (act === "prelu") {
    next = callKernel(backendName, "Prelu", backend, {
      x: out,
      alpha: inputs.preluActivationWeights,
    });
  } else if (kernels[act]) {
    const [name, a] = kernels[act];
    next = callKernel(backendName, name, backend, { x: out }, a);
  } else {
    throw new Error(`plugins/backends: unknown fused activation "${act}"`);
  }
  free(backend, out);
  return next;
}

/**
 * Applies FusedConv2D / _FusedMatMul's bias and activation to x (their
 * unfused output), in place where {@link simpleEpilogue} allows and the
 * SIMD kernels run; returns the result, which replaces x.
 */
export function biasActivation(
  backendName: string,
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  inputs: Record<string, tf.TensorInfo | undefined>,
  attrs: tf.NamedAttrMap,
): tf.TensorInfo {
  const e = simpleEpilogue(x.shape[x.shape.length - 1], inputs, attrs);
  return e && simdKernels(backend)
    ? applyEpilogue(backendName, backend, x, e)
    : generic(backendName, backend, x, inputs, attrs);
}
