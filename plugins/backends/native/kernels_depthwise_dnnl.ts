/**
 * `native`'s depthwise convolutions (DepthwiseConv2dNative and both its
 * gradients) as oneDNN grouped convolutions, one group per input channel,
 * on NHWC activations and tfjs' `[kH, kW, C, multiplier]` filters in place:
 * oneDNN's JIT depthwise kernels instead of XNNPACK's single-threaded
 * forward and the JS-loop gradients of kernels/depthwise.ts. What oneDNN
 * declines goes to the kernels registered before (`fallbacks`).
 */
import type * as tf from "@tensorflow/tfjs-core";
import {
  heapKernel,
  requireFloat,
  type WasmKernelArgs,
} from "../kernels/heap.ts";
import { depthwiseInfo } from "../kernels/depthwise.ts";
import type { DnnlConv } from "./dnnl_symbols.ts";
import { dnnlConvCounts, geometryOf, into } from "./kernels_conv_dnnl.ts";
import { envOff } from "../env.ts";

type KernelFunc = (args: WasmKernelArgs) => tf.TensorInfo;

/**
 * Most filter taps whose filter gradient runs on oneDNN. oneDNN 2.6 takes
 * 5×5 depthwise filter gradients on NHWC to its generic jit kernel, 1.5-9×
 * slower than the SIMD kernel (kernels.c depthwise_filter_grad) on
 * EfficientNet-B0's shapes at one thread (4.96 against 0.57 ms for
 * 8×4×4×1152); its jit_dw 3×3 ones are 2-16× faster than the SIMD kernel.
 */
const DNNL_FILTER_GRAD_MAX_TAPS = 9;

let filterGradByTaps = !envOff("SELFTRAIN_DW_FILTER_GRAD_SIMD");

/**
 * Whether depthwise filter gradients over {@link DNNL_FILTER_GRAD_MAX_TAPS}
 * taps go to the SIMD kernel (on; `SELFTRAIN_DW_FILTER_GRAD_SIMD=0` starts
 * it off: oneDNN takes all); returns the previous setting.
 */
export function setDepthwiseFilterGradByTaps(on: boolean): boolean {
  const before = filterGradByTaps;
  filterGradByTaps = on;
  return before;
}

/**
 * DepthwiseConv2dNative and its two gradients for `backendName` on `dnnl`,
 * each falling back to the kernel of the same name in `fallbacks`.
 */
export function dnnlDepthwiseKernels(
  backendName: string,
  dnnl: DnnlConv,
  fallbacks: tf.KernelConfig[],
): tf.KernelConfig[] {
  const fallback = (name: string): KernelFunc => {
    const k = fallbacks.find((c) => c.kernelName === name);
    if (!k) {
      throw new Error(`plugins/backends/native: no fallback ${name} kernel`);
    }
    return k.kernelFunc as unknown as KernelFunc;
  };
  const kernel = (
    name: string,
    run: (args: WasmKernelArgs) => tf.TensorInfo | null,
  ) => {
    const rest = fallback(name);
    return heapKernel(name, backendName, (args: WasmKernelArgs) => {
      const out = run(args);
      if (!out) return rest(args);
      dnnlConvCounts.depthwise++;
      return out;
    });
  };
  return [
    kernel("DepthwiseConv2dNative", ({ inputs, backend, attrs = {} }) => {
      const { x, filter } = inputs;
      requireFloat("DepthwiseConv2dNative", x, filter);
      const info = depthwiseInfo(x.shape, filter.shape, attrs);
      return into(
        info,
        backend,
        info.outShape,
        (ptr, out) =>
          dnnl.forward(
            geometryOf(info, true),
            ptr(x),
            ptr(filter),
            null,
            ptr(out),
          ),
        true,
      );
    }),
    kernel(
      "DepthwiseConv2dNativeBackpropInput",
      ({ inputs, backend, attrs = {} }) => {
        const { dy, filter } = inputs;
        requireFloat("DepthwiseConv2dNativeBackpropInput", dy, filter);
        const shape = attrs.inputShape as number[];
        const info = depthwiseInfo(shape, filter.shape, attrs);
        return into(
          info,
          backend,
          shape,
          (ptr, out) =>
            dnnl.backwardData(
              geometryOf(info, true),
              ptr(dy),
              ptr(filter),
              ptr(out),
            ),
          true,
        );
      },
    ),
    kernel(
      "DepthwiseConv2dNativeBackpropFilter",
      ({ inputs, backend, attrs = {} }) => {
        const { x, dy } = inputs;
        requireFloat("DepthwiseConv2dNativeBackpropFilter", x, dy);
        const shape = attrs.filterShape as number[];
        const info = depthwiseInfo(x.shape, shape, attrs);
        const taps = info.filterHeight * info.filterWidth;
        if (filterGradByTaps && taps > DNNL_FILTER_GRAD_MAX_TAPS) return null;
        return into(
          info,
          backend,
          shape,
          (ptr, out) =>
            dnnl.backwardWeights(
              geometryOf(info, true),
              ptr(x),
              ptr(dy),
              ptr(out),
            ),
          true,
        );
      },
    ),
  ];
}
