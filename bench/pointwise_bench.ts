/**
 * native's memory-bound training kernels on EfficientNet-B0-shaped tensors
 * (batch 8 at 128 px): the training batch norm forward and gradient,
 * swish with its gradient, the squeeze-excitation product and an add, on
 * oneDNN's primitives (plugins/backends/native/kernels_pointwise_dnnl.ts,
 * kernels_binary_dnnl.ts) against the single-threaded SIMD / wasm kernels
 * they replace, alternating the two paths and keeping each one's fastest of
 * `--reps` runs (robust on a loaded machine).
 * oneDNN's thread count is fixed per process: run it with
 * SELFTRAIN_BLAS_THREADS=1 and again with 2.
 *   deno run -A bench/pointwise_bench.ts --reps 20
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "node:util";
import { BATCH_NORM_GRAD_KERNEL } from "../core/nn/batch_norm.ts";
import { batchNormTraining } from "../core/nn/batch_norm.ts";
import { swish, SWISH_GRAD_KERNEL } from "../plugins/layers/activations.ts";
import { nativeBackend } from "../plugins/backends/native.ts";
import { setDnnlPointwiseEnabled } from "../plugins/backends/native/kernels_pointwise_dnnl.ts";
import { threadCount } from "../plugins/backends/native/blas_ffi.ts";

const { values } = parseArgs({
  options: { reps: { type: "string", default: "20" } },
});
const reps = Number(values.reps);

/** EfficientNet-B0's activation shapes at batch 8, 128 px. */
const SHAPES = [
  [8, 64, 64, 32],
  [8, 64, 64, 96],
  [8, 32, 32, 144],
  [8, 16, 16, 240],
  [8, 8, 8, 480],
  [8, 8, 8, 112],
  [8, 4, 4, 1152],
];

type Pass = (
  x: tf.Tensor,
  dy: tf.Tensor,
  c: tf.Tensor1D,
  gate: tf.Tensor,
) => tf.Tensor[];

const PASSES: [string, Pass][] = [
  ["batch norm forward", (x, _dy, c) => {
    const r = batchNormTraining(x, c, c, 1e-3);
    return [r.y, r.mean, r.variance];
  }],
  [
    "batch norm gradient",
    (x, dy, c) =>
      tf.engine().runKernel(BATCH_NORM_GRAD_KERNEL, {
        x,
        dy,
        mean: c,
        variance: c,
        gamma: c,
      }, { epsilon: 1e-3 }) as tf.Tensor[],
  ],
  ["swish", (x) => [swish(x)]],
  ["swish gradient", (x, dy) => [
    tf.engine().runKernel(SWISH_GRAD_KERNEL, { x, dy }) as tf.Tensor,
  ]],
  ["multiply by SE gate", (x, _dy, _c, gate) => [tf.mul(x, gate)]],
  ["add", (x, dy) => [tf.add(x, dy)]],
];

/** Fastest of `reps` runs of `pass` in ms, oneDNN on or off. */
function fastest(pass: Pass, args: Parameters<Pass>, dnnl: boolean): number {
  setDnnlPointwiseEnabled(dnnl);
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    // The wasm heap's kernels run eagerly: no read-back (a copy) is timed.
    const outs = pass(...args);
    best = Math.min(best, performance.now() - t0);
    tf.dispose(outs);
  }
  return best;
}

await nativeBackend.activate();
console.log(`oneDNN threads: ${threadCount()}; fastest of ${reps} runs, ms`);
console.log("pass                  shape              SIMD  oneDNN  speed-up");
const totals = { simd: 0, dnnl: 0 };
for (const [name, pass] of PASSES) {
  for (const shape of SHAPES) {
    const c = shape[3];
    const args: Parameters<Pass> = [
      tf.randomNormal(shape, 0, 1, "float32", 1),
      tf.randomNormal(shape, 0, 1, "float32", 2),
      tf.ones([c]) as tf.Tensor1D,
      tf.randomNormal([shape[0], 1, 1, c], 0, 1, "float32", 3),
    ];
    fastest(pass, args, true); // create the primitives outside the timing
    const simd = fastest(pass, args, false);
    const dnnl = fastest(pass, args, true);
    totals.simd += simd;
    totals.dnnl += dnnl;
    console.log(
      `${name.padEnd(21)} ${`[${shape}]`.padEnd(16)} ${
        simd.toFixed(3).padStart(7)
      } ${dnnl.toFixed(3).padStart(7)} ${
        (simd / dnnl).toFixed(2).padStart(8)
      }×`,
    );
    tf.dispose(args);
  }
}
console.log(
  `all                                      ${
    totals.simd.toFixed(2).padStart(7)
  } ${totals.dnnl.toFixed(2).padStart(7)} ${
    (totals.simd / totals.dnnl).toFixed(2).padStart(8)
  }×`,
);
