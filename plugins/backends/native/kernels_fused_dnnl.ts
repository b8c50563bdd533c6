/**
 * `native`'s {@link FUSED_CONV_KERNEL}: a convolution or depthwise
 * convolution with its bias and activation (swish included) as one oneDNN
 * primitive, the activation an eltwise post-op applied while the output is
 * still in cache. At inference EfficientNet's expansion conv + swish and
 * its depthwise conv + folded batch norm + swish each become one pass
 * instead of two or three. What oneDNN declines runs as the fused conv
 * without activation, then the activation's kernel.
 * `SELFTRAIN_DNNL_FUSED=0` leaves the kernel unregistered and the post-ops
 * off (the layers then take their unfused path).
 */
import * as tf from "@tensorflow/tfjs-core";
import { FUSED_CONV_KERNEL } from "../../layers/fold.ts";
import { SWISH_KERNEL } from "../../layers/activations.ts";
import { convInfo } from "../kernels/conv2d.ts";
import { depthwiseInfo } from "../kernels/depthwise.ts";
import {
  callKernel,
  free,
  heapKernel,
  requireFloat,
  type WasmKernelArgs,
} from "../kernels/heap.ts";
import type { DnnlConv } from "./dnnl_symbols.ts";
import {
  dnnlConvCounts,
  geometryOf,
  into,
  postOpOf,
  setDnnlPostOpsEnabled,
} from "./kernels_conv_dnnl.ts";
import { envOff } from "../env.ts";

/** The kernel of each activation, for the unfused fallback. */
const ACTIVATION_KERNELS: Record<string, string> = {
  relu: "Relu",
  relu6: "Relu6",
  sigmoid: "Sigmoid",
  swish: SWISH_KERNEL,
};

/** The conv + bias + activation kernel on `dnnl` for `backendName`. */
function fusedConvKernel(backendName: string, dnnl: DnnlConv): tf.KernelConfig {
  return heapKernel(
    FUSED_CONV_KERNEL,
    backendName,
    ({ inputs, backend, attrs = {} }: WasmKernelArgs) => {
      const { x, filter, bias } = inputs;
      requireFloat(FUSED_CONV_KERNEL, x, filter, bias);
      const depthwise = attrs.depthwise === true;
      const activation = (attrs.activation ?? "linear") as string;
      if (activation !== "linear" && !ACTIVATION_KERNELS[activation]) {
        throw new Error(
          `plugins/backends/native: ${FUSED_CONV_KERNEL}: unknown activation "${activation}"`,
        );
      }
      const info = depthwise
        ? depthwiseInfo(x.shape, filter.shape, attrs)
        : convInfo(x.shape, filter.shape, attrs);
      const act = postOpOf(activation);
      if (act !== null) {
        const y = into(
          info,
          backend,
          info.outShape,
          (ptr, out) =>
            dnnl.forward(
              geometryOf(info, depthwise),
              ptr(x),
              ptr(filter),
              ptr(bias),
              ptr(out),
              act,
            ),
          depthwise,
        );
        if (y) {
          dnnlConvCounts[depthwise ? "depthwise" : "forward"]++;
          if (act) dnnlConvCounts.postOp++;
          return y;
        }
      }
      const conv = callKernel(
        backendName,
        depthwise ? "FusedDepthwiseConv2D" : "FusedConv2D",
        backend,
        { x, filter, bias },
        { ...attrs, dataFormat: "NHWC", activation: "linear" },
      );
      if (activation === "linear") return conv;
      const y = callKernel(
        backendName,
        ACTIVATION_KERNELS[activation],
        backend,
        { x: conv },
      );
      free(backend, conv);
      return y;
    },
  );
}

let registration: { backendName: string; config: tf.KernelConfig } | null =
  null;

/**
 * {@link FUSED_CONV_KERNEL} on `dnnl` for `backendName` (none, and the
 * post-ops off, under `SELFTRAIN_DNNL_FUSED=0`).
 */
export function dnnlFusedKernels(
  backendName: string,
  dnnl: DnnlConv,
): tf.KernelConfig[] {
  if (envOff("SELFTRAIN_DNNL_FUSED")) {
    setDnnlPostOpsEnabled(false);
    return [];
  }
  const config = fusedConvKernel(backendName, dnnl);
  registration = { backendName, config };
  return [config];
}

/**
 * Turns the fused path on or off at run time: the post-ops, and
 * {@link FUSED_CONV_KERNEL}'s registration (unregistered, the layers run
 * their unfused path). Returns the previous setting.
 */
export function setDnnlFusedEnabled(on: boolean): boolean {
  const before = setDnnlPostOpsEnabled(on);
  if (!registration) return before;
  const { backendName } = registration;
  const current = tf.getKernel(FUSED_CONV_KERNEL, backendName);
  if (current && !on) {
    registration.config = current; // keeps a profiler's wrapper
    tf.unregisterKernel(FUSED_CONV_KERNEL, backendName);
  } else if (!current && on) {
    tf.registerKernel(registration.config);
  }
  return before;
}
