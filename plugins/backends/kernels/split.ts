/**
 * SplitV on the heap: each output is `outer` contiguous runs of the input,
 * copied with `copyWithin` (memmove). The wasm backend's SplitV slices
 * element by element; RetinaNet's concat gradient (its class logits over
 * every anchor, [4, 12276, 80] at 256 px) took 300 ms of a training step.
 * Other dtypes go to `original`.
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  alloc,
  heapF32,
  heapKernel,
  offsetOf,
  type WasmKernelArgs,
} from "./heap.ts";

/** The SplitV kernel for `backendName`, float32 on the heap. */
export function splitKernels(
  backendName: string,
  original: tf.KernelConfig,
): tf.KernelConfig[] {
  return [{
    ...heapKernel("SplitV", backendName, (args: WasmKernelArgs) => {
      const { backend, inputs: { x } } = args;
      const attrs = args.attrs ?? {};
      if (x.dtype !== "float32") {
        return original.kernelFunc(
          args as unknown as Parameters<tf.KernelFunc>[0],
        ) as tf.TensorInfo[];
      }
      const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
      const sizes = tf.backend_util.prepareSplitSize(
        x as unknown as tf.Tensor,
        attrs.numOrSizeSplits as number[] | number,
        axis,
      );
      const outer = tf.util.sizeFromShape(x.shape.slice(0, axis));
      const inner = tf.util.sizeFromShape(x.shape.slice(axis + 1));
      const row = x.shape[axis] * inner;
      const outs = sizes.map((s) => {
        const shape = [...x.shape];
        shape[axis] = s;
        return alloc(backend, shape);
      });
      const h = heapF32(backend);
      const xOff = offsetOf(backend, x);
      let start = 0;
      outs.forEach((out, i) => {
        const run = sizes[i] * inner, oOff = offsetOf(backend, out);
        for (let o = 0; o < outer; o++) {
          const src = xOff + o * row + start;
          h.copyWithin(oOff + o * run, src, src + run);
        }
        start += run;
      });
      return outs;
    }),
    setupFunc: original.setupFunc,
  }];
}
