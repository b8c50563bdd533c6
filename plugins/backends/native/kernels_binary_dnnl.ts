/**
 * `native`'s Add, Sub, Multiply and RealDiv on oneDNN's binary primitive
 * (dnnl_binary.ts) for float32 tensors of at least MIN_FLOATS where one
 * operand has the output's shape and the other broadcasts into it (the
 * squeeze-excitation gate, a mean's gradient scaled by a scalar, gradient
 * sums). Everything else, and what oneDNN only runs on its reference
 * kernel, goes to the wasm kernel registered before.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { WasmKernelArgs } from "../kernels/heap.ts";
import type { BinaryAlg, DnnlBinary } from "./dnnl_binary.ts";
import {
  eligible,
  MIN_FLOATS,
  run,
  withFallback,
} from "./kernels_pointwise_dnnl.ts";

/** Binary passes oneDNN ran, for tests. */
export const dnnlBinaryCounts = { calls: 0 };

const KERNELS: [name: string, alg: BinaryAlg, commutative: boolean][] = [
  ["Add", "add", true],
  ["Sub", "sub", false],
  ["Multiply", "mul", true],
  ["RealDiv", "div", false],
];

/** `shape` with leading 1s up to `rank`. */
function padded(shape: number[], rank: number): number[] {
  return [...new Array(rank - shape.length).fill(1), ...shape];
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The four binary kernels of `backendName` on `dnnl`. */
export function dnnlBinaryKernels(
  backendName: string,
  dnnl: DnnlBinary,
): tf.KernelConfig[] {
  return KERNELS.flatMap(([name, alg, commutative]) =>
    withFallback(backendName, name, ({ inputs, backend }: WasmKernelArgs) => {
      let { a, b } = inputs;
      if (a.dtype !== "float32" || b.dtype !== "float32") return null;
      // Most binary ops are small (optimizer scalars, SE vectors): leave
      // before working out the broadcast, which `eligible` would reject.
      const size = tf.util.sizeFromShape;
      if (Math.max(size(a.shape), size(b.shape)) < MIN_FLOATS) return null;
      const out = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      if (!sameShape(a.shape, out)) {
        if (!commutative || !sameShape(b.shape, out)) return null;
        [a, b] = [b, a];
      }
      if (!eligible(a, b)) return null;
      const bShape = padded(b.shape, out.length);
      const y = run(
        backend,
        [out],
        (ptr, [y]) => dnnl.run(alg, out, bShape, ptr(a), ptr(b), ptr(y)),
      );
      if (y) dnnlBinaryCounts.calls++;
      return y;
    })
  );
}
