/**
 * `native`'s MaxPoolGrad on oneDNN's pooling primitives (dnnl_pool.ts) for
 * float32 tensors of at least MIN_FLOATS without dilation; the rest, and
 * geometries oneDNN only runs on its reference kernel, go to the SIMD
 * kernel registered before.
 */
import type * as tf from "@tensorflow/tfjs-core";
import { alloc, free, type WasmKernelArgs } from "../kernels/heap.ts";
import { poolInfo } from "../kernels/pool_grad.ts";
import type { DnnlMaxPoolGrad, PoolGeometry } from "./dnnl_pool.ts";
import { eligible, run, withFallback } from "./kernels_pointwise_dnnl.ts";

/** Max-pool gradients oneDNN ran, for tests. */
export const dnnlPoolCounts = { grad: 0 };

/** The oneDNN geometry of a max pool of `input` with tfjs' `attrs`; null with dilation. */
function geometry(
  input: tf.TensorInfo,
  attrs: tf.NamedAttrMap,
): PoolGeometry | null {
  const info = poolInfo(input, attrs);
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  return {
    batch: info.batchSize,
    channels: info.inChannels,
    inH: info.inHeight,
    inW: info.inWidth,
    outH: info.outHeight,
    outW: info.outWidth,
    filterH: info.filterHeight,
    filterW: info.filterWidth,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    padBottom: info.padInfo.bottom,
    padRight: info.padInfo.right,
  };
}

/** The MaxPoolGrad kernel of `backendName` on `dnnl`. */
export function dnnlPoolKernels(
  backendName: string,
  dnnl: DnnlMaxPoolGrad,
): tf.KernelConfig[] {
  return withFallback(
    backendName,
    "MaxPoolGrad",
    ({ inputs: { dy, input }, backend, attrs }: WasmKernelArgs) => {
      if (!eligible(input, dy)) return null;
      const g = geometry(input, attrs ?? {});
      const bytes = g && dnnl.workspaceBytes(g);
      if (!g || bytes === null) return null;
      const workspace = backend.makeOutput([Math.ceil(bytes / 4)], "int32");
      const y = alloc(backend, dy.shape);
      const out = run(backend, [input.shape], (ptr, [dx]) =>
        dnnl.run(g, {
          x: ptr(input),
          dy: ptr(dy),
          dx: ptr(dx),
          y: ptr(y),
          workspace: ptr(workspace),
        }));
      free(backend, y);
      free(backend, workspace);
      if (out) dnnlPoolCounts.grad++;
      return out;
    },
  );
}
