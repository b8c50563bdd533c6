/**
 * native's training batch norm + relu as one pass each way
 * (plugins/layers/bn_relu.ts): oneDNN's batch norm with `fuse_norm_relu`
 * writes relu's mask to its workspace, kept as an int32 tensor until the
 * backward pass masks dy with it inside the batch norm's gradient. Where
 * oneDNN declines a shape (or it is under 2^15 floats), the separate
 * batch-norm and relu kernels run, and the mask is y itself.
 */
import type * as tf from "@tensorflow/tfjs-core";
import {
  BATCH_NORM_GRAD_KERNEL,
  BATCH_NORM_TRAIN_KERNEL,
} from "../../../core/nn/batch_norm.ts";
import {
  BATCH_NORM_RELU_GRAD_KERNEL,
  BATCH_NORM_RELU_TRAIN_KERNEL,
} from "../../layers/bn_relu.ts";
import { RELU_GRAD_KERNEL } from "../../layers/activations.ts";
import {
  callKernel,
  free,
  heapKernel,
  share,
  type WasmKernelArgs,
} from "../kernels/heap.ts";
import type { DnnlPointwise } from "./dnnl_pointwise.ts";
import {
  eligible,
  epsilonOf,
  kernelBefore,
  normBackward,
  normForward,
  normShape,
} from "./kernels_pointwise_dnnl.ts";

/** Fused passes oneDNN ran, for tests. */
export const dnnlBnReluCounts = { forward: 0, backward: 0 };

/**
 * The fused batch norm + relu kernels of `backendName` on `dnnl`, falling
 * back to that backend's batch-norm, Relu and relu-gradient kernels (none
 * without its training batch-norm kernels).
 */
export function dnnlBnReluKernels(
  backendName: string,
  dnnl: DnnlPointwise,
): tf.KernelConfig[] {
  const kernelOf = (name: string) => kernelBefore(backendName, name);
  const normTrain = kernelOf(BATCH_NORM_TRAIN_KERNEL);
  const normGrad = kernelOf(BATCH_NORM_GRAD_KERNEL);
  if (!normTrain || !normGrad || !kernelOf(RELU_GRAD_KERNEL)) return [];
  const fusedForward = (args: WasmKernelArgs): tf.TensorInfo[] | null => {
    const { inputs: { x, gamma, beta }, backend } = args;
    const g = eligible(x, gamma, beta) && normShape(x, [gamma, beta]);
    const bytes = g ? dnnl.reluWorkspaceBytes(g, epsilonOf(args)) : null;
    if (bytes === null) return null;
    const workspace = backend.makeOutput([Math.ceil(bytes / 4)], "int32");
    const out = normForward(dnnl, args, workspace);
    if (!out) {
      free(backend, workspace);
      return null;
    }
    dnnlBnReluCounts.forward++;
    return [...out, workspace];
  };

  const forward = (args: WasmKernelArgs): tf.TensorInfo[] => {
    const fused = fusedForward(args);
    if (fused) return fused;
    const [yNorm, mean, variance] = normTrain(args) as tf.TensorInfo[];
    const { backend } = args;
    const y = callKernel(backendName, "Relu", backend, { x: yNorm });
    free(backend, yNorm);
    return [y, mean, variance, share(backend, y)]; // the mask is y itself
  };

  const backward = (args: WasmKernelArgs): tf.TensorInfo[] => {
    const { inputs: { x, dy, mask }, backend } = args;
    if (mask.dtype !== "int32") {
      const dyRelu = callKernel(backendName, RELU_GRAD_KERNEL, backend, {
        x: mask,
        dy,
      });
      const out = normGrad({
        ...args,
        inputs: { ...args.inputs, dy: dyRelu },
      }) as tf.TensorInfo[];
      free(backend, dyRelu);
      return out;
    }
    const out = normBackward(dnnl, args, mask);
    if (!out) {
      throw new Error(
        `plugins/backends/native/kernels_bn_relu_dnnl.ts: oneDNN declined the gradient of a fused batch norm + relu of shape [${x.shape}]`,
      );
    }
    dnnlBnReluCounts.backward++;
    return out;
  };

  return [
    heapKernel(BATCH_NORM_RELU_TRAIN_KERNEL, backendName, forward),
    heapKernel(BATCH_NORM_RELU_GRAD_KERNEL, backendName, backward),
  ];
}
