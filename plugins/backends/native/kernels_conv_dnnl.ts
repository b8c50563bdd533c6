/**
 * `native`'s Conv2D, FusedConv2D and both Conv2D gradients on oneDNN's
 * direct convolutions (dnnl_ffi.ts) when libdnnl2 is installed: its
 * brgconv / jit kernels ran ResNet-18's 3×3 convolutions 1.3-4.5× faster
 * than Winograd or im2col + sgemm here. Fused relu, relu6 and sigmoid
 * run as oneDNN eltwise post-ops (no second pass over the output).
 * Geometries oneDNN does not take, and other fused activations, go to the
 * kernels in `fallbacks` (the im2col / Winograd ones).
 */
import type * as tf from "@tensorflow/tfjs-core";
import { convInfo, requireNhwc } from "../kernels/conv2d.ts";
import { applyEpilogue, simpleEpilogue } from "../kernels/epilogue.ts";
import {
  heapKernel,
  requireFloat,
  type WasmBackendLike,
  type WasmKernelArgs,
} from "../kernels/heap.ts";
import {
  type ConvGeometry,
  type DnnlConv,
  POST_OPS,
  type PostOp,
} from "./dnnl_symbols.ts";
import { run } from "./kernels_pointwise_dnnl.ts";

type Info = tf.backend_util.Conv2DInfo;

/** The oneDNN geometry of tfjs' conv info (`depthwise`: one group per input channel). */
export function geometryOf(info: Info, depthwise = false): ConvGeometry {
  const p = info.padInfo;
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    kH: info.filterHeight,
    kW: info.filterWidth,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    dilationH: info.dilationHeight,
    dilationW: info.dilationWidth,
    padTop: p.top,
    padLeft: p.left,
    padBottom: p.bottom,
    padRight: p.right,
    groups: depthwise ? info.inChannels : 1,
  };
}

let enabled = true;

/**
 * Turns the oneDNN path on or off at run time (off: the im2col / Winograd
 * kernels run, as without libdnnl2); returns the previous setting.
 */
export function setDnnlConvEnabled(on: boolean): boolean {
  const before = enabled;
  enabled = on;
  return before;
}

/**
 * Most filter floats for the oneDNN path. Above it (ResNet-18's last stage:
 * 3×3×512×512 filters on 4×4 maps) oneDNN ran forward, dx and dW 1.4-2×
 * slower than Winograd / im2col inside a training step, the per-call filter
 * reorder and a filter that no longer fits in cache outweighing its kernels;
 * below it, 1.1-1.5× faster.
 */
const MAX_FILTER_FLOATS = 2 ** 20;

function worthIt(info: Info, depthwise: boolean): boolean {
  const filterFloats = info.filterHeight * info.filterWidth *
    info.outChannels * (depthwise ? 1 : info.inChannels);
  return filterFloats <= MAX_FILTER_FLOATS;
}

let postOps = true;

/**
 * Turns oneDNN's fused activations (eltwise post-ops) on or off at run
 * time (off: FusedConv2D's activation runs as a SIMD pass after the conv,
 * and the fused conv kernel as conv, then the activation's kernel);
 * returns the previous setting.
 */
export function setDnnlPostOpsEnabled(on: boolean): boolean {
  const before = postOps;
  postOps = on;
  return before;
}

/** The post-op of `activation` where post-ops are on and it is one. */
export function postOpOf(activation: unknown): PostOp | undefined | null {
  if (activation === undefined || activation === "linear") return undefined;
  return postOps && Object.hasOwn(POST_OPS, activation as string)
    ? activation as PostOp
    : null;
}

/** Counts of convolutions oneDNN ran, for tests. */
export const dnnlConvCounts = {
  forward: 0,
  data: 0,
  weights: 0,
  depthwise: 0,
  /** Of those, with a fused activation (post-op). */
  postOp: 0,
};

/**
 * Runs `compute` into a new tensor of `shape` (kernels_pointwise_dnnl's
 * {@link run}) when oneDNN's convolutions are on and worth it; null when
 * not, or when oneDNN declines.
 */
export function into(
  info: Info,
  backend: WasmBackendLike,
  shape: number[],
  compute: (
    ptr: (t: tf.TensorInfo) => Deno.PointerValue,
    out: tf.TensorInfo,
  ) => boolean,
  depthwise = false,
): tf.TensorInfo | null {
  if (!enabled || !worthIt(info, depthwise)) return null;
  return run(backend, [shape], (ptr, [out]) => compute(ptr, out))?.[0] ?? null;
}

/** The four conv kernels on `dnnl`, each falling back to `fallbacks`'. */
export function dnnlConvKernels(
  backendName: string,
  dnnl: DnnlConv,
  fallbacks: tf.KernelConfig[],
): tf.KernelConfig[] {
  const fallback = (name: string) => {
    const k = fallbacks.find((c) => c.kernelName === name);
    if (!k) {
      throw new Error(`plugins/backends/native: no fallback ${name} kernel`);
    }
    return k.kernelFunc as unknown as (a: WasmKernelArgs) => tf.TensorInfo;
  };
  const forward = (name: "Conv2D" | "FusedConv2D") => {
    const rest = fallback(name);
    return heapKernel(name, backendName, (args: WasmKernelArgs) => {
      const { x, filter } = args.inputs, attrs = args.attrs ?? {};
      requireNhwc(name, attrs);
      requireFloat(name, x, filter);
      // an activation oneDNN fuses, else the epilogue after the conv
      const act = name === "Conv2D" ? undefined : postOpOf(attrs.activation);
      const e = name === "Conv2D"
        ? { activation: "linear" as const }
        : simpleEpilogue(filter.shape[3], args.inputs, {
          ...attrs,
          activation: act ? "linear" : attrs.activation,
        });
      if (!e) return rest(args);
      const info = convInfo(x.shape, filter.shape, attrs);
      const y = into(
        info,
        args.backend,
        info.outShape,
        (ptr, out) =>
          dnnl.forward(
            geometryOf(info),
            ptr(x),
            ptr(filter),
            e.bias ? ptr(e.bias) : null,
            ptr(out),
            act ?? undefined,
          ),
      );
      if (!y) return rest(args);
      dnnlConvCounts.forward++;
      if (act) dnnlConvCounts.postOp++;
      return applyEpilogue(backendName, args.backend, y, {
        activation: e.activation,
      });
    });
  };
  const data = fallback("Conv2DBackpropInput");
  const weights = fallback("Conv2DBackpropFilter");
  return [
    forward("Conv2D"),
    forward("FusedConv2D"),
    heapKernel("Conv2DBackpropInput", backendName, (args: WasmKernelArgs) => {
      const { dy, filter } = args.inputs, attrs = args.attrs ?? {};
      requireNhwc("Conv2DBackpropInput", attrs);
      requireFloat("Conv2DBackpropInput", dy, filter);
      const shape = attrs.inputShape as number[];
      const info = convInfo(shape, filter.shape, attrs);
      const dx = into(
        info,
        args.backend,
        shape,
        (ptr, out) =>
          dnnl.backwardData(geometryOf(info), ptr(dy), ptr(filter), ptr(out)),
      );
      if (!dx) return data(args);
      dnnlConvCounts.data++;
      return dx;
    }),
    heapKernel("Conv2DBackpropFilter", backendName, (args: WasmKernelArgs) => {
      const { x, dy } = args.inputs, attrs = args.attrs ?? {};
      requireNhwc("Conv2DBackpropFilter", attrs);
      requireFloat("Conv2DBackpropFilter", x, dy);
      const shape = attrs.filterShape as number[];
      const info = convInfo(x.shape, shape, attrs);
      const dw = into(
        info,
        args.backend,
        shape,
        (ptr, out) =>
          dnnl.backwardWeights(geometryOf(info), ptr(x), ptr(dy), ptr(out)),
      );
      if (!dw) return weights(args);
      dnnlConvCounts.weights++;
      return dw;
    }),
  ];
}
