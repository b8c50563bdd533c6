/**
 * Where a training step's time goes, per kernel: wraps every kernel
 * registered for the active backend with a timer (top-level calls only, so
 * kernels that call other kernels are not counted twice), runs a few
 * training steps of a benchmark model and prints the kernels by total time,
 * plus the time outside any kernel (tape, JS glue).
 *
 *   deno run -A bench/kernel_profile.ts --model efficientnet-b0 \
 *     --backend native --batch 8 --size 128 --steps 3
 *   deno run -A bench/kernel_profile.ts --detector spinenet-49 --batch 4 \
 *     --size 256 --steps 2
 * (`--detector` profiles a RetinaNet training step on that backbone.)
 * `--ab` alternates steps with one of native's oneDNN paths off and on and
 * prints both, so that a loaded machine's noise falls on both alike:
 * `--ab-path pointwise` (the default) the memory-bound kernels (batch norm,
 * swish, relu, binary ops: kernels_pointwise_dnnl.ts), `--ab-path fused`
 * the fused conv + activation (kernels_fused_dnnl.ts; use with `--infer`),
 * `--ab-path dw-grad` 5×5 depthwise filter gradients on the SIMD kernel
 * (kernels_depthwise_dnnl.ts), `--ab-path bn-threads` oneDNN's batch norm
 * on one thread instead of all (dnnl_threads.ts), `--ab-path
 * eltwise-threads` its eltwise and binary primitives on one thread,
 * `--ab-path bn-relu` training batch norm + relu as one oneDNN pass each
 * way (plugins/layers/bn_relu.ts).
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "node:util";
import { selectBackend } from "../core/backend.ts";
import { builtinBackends } from "../plugins/backends/index.ts";
import { benchModels } from "./models/registry.ts";
import { sgdTrainer } from "./models/bench_model.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";
import { setDnnlPointwiseEnabled } from "../plugins/backends/native/kernels_pointwise_dnnl.ts";
import { setDnnlFusedEnabled } from "../plugins/backends/native/kernels_fused_dnnl.ts";
import { setBatchNormReluFusion } from "../plugins/layers/bn_relu.ts";
import { setDepthwiseFilterGradByTaps } from "../plugins/backends/native/kernels_depthwise_dnnl.ts";
import {
  setDnnlBatchNormThreads,
  setDnnlEltwiseThreads,
} from "../plugins/backends/native/dnnl_threads.ts";

/** The native paths `--ab` can switch, by `--ab-path` name. */
const AB_PATHS: Record<string, (on: boolean) => boolean> = {
  pointwise: setDnnlPointwiseEnabled,
  fused: setDnnlFusedEnabled,
  "dw-grad": setDepthwiseFilterGradByTaps,
  // on: one thread, off: all of them (the default)
  "bn-threads": (on) => setDnnlBatchNormThreads(on ? 1 : 1024) === 1,
  // on: one thread, off: all of them (the default)
  "eltwise-threads": (on) => setDnnlEltwiseThreads(on ? 1 : 1024) === 1,
  "bn-relu": setBatchNormReluFusion,
};
import {
  benchDetector,
  detectorTrainStep,
  sgdOptimizer,
  syntheticBatch,
} from "./models/detector.ts";

/** Total milliseconds and calls of one kernel (by name and input shapes). */
interface KernelTime {
  ms: number;
  calls: number;
}

/** Wraps every kernel of `backendName` with a timer; returns the table. */
export function instrumentKernels(
  backendName: string,
  byShape: boolean,
): Map<string, KernelTime> {
  const table = new Map<string, KernelTime>();
  let depth = 0;
  for (const config of tf.getKernelsForBackend(backendName)) {
    const inner = config.kernelFunc;
    const kernelFunc: tf.KernelFunc = (args) => {
      if (depth > 0) return inner(args);
      depth++;
      const t0 = performance.now();
      try {
        return inner(args);
      } finally {
        depth--;
        const shapes = byShape
          ? " " +
            Object.values(args.inputs).map((t) => t ? `[${t.shape}]` : "-")
              .join(" ")
          : "";
        const key = config.kernelName + shapes;
        const row = table.get(key) ?? { ms: 0, calls: 0 };
        row.ms += performance.now() - t0;
        row.calls++;
        table.set(key, row);
      }
    };
    tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel({ ...config, kernelFunc });
  }
  return table;
}

/** One step to profile, its name, and how to free what it holds. */
interface Profiled {
  step: () => void;
  name: string;
  dispose: () => void;
}

function modelStep(
  modelName: string,
  batch: number,
  size: number,
  infer: boolean,
): Profiled {
  const model = benchModels[modelName]({ classes: 1000, seed: 1 });
  const x = tf.randomUniform([batch, size, size, 3], -1, 1) as tf.Tensor4D;
  const labels = tf.oneHot(tf.zeros([batch], "int32") as tf.Tensor1D, 1000);
  const trainer = sgdTrainer(model, x, labels);
  return {
    step: infer
      ? () => tf.tidy(() => model.forward(x, false)).dispose()
      : () => void trainer.step(),
    name: modelName,
    dispose: () => {
      trainer.dispose();
      model.dispose();
      tf.dispose([x, labels]);
    },
  };
}

function detectorStep(
  backbone: string,
  batch: number,
  size: number,
  infer: boolean,
): Profiled {
  const model = benchDetector(createBuiltinRegistry(), backbone, 80, size);
  const opt = sgdOptimizer();
  const b = syntheticBatch(batch, size);
  return {
    step: infer
      ? () =>
        tf.dispose(tf.tidy(() =>
          Object.values(
            model.forward(b.images, { training: false }) as Record<
              string,
              tf.Tensor
            >,
          )
        ))
      : () => detectorTrainStep(model, opt, b),
    name: `retinanet-${backbone}`,
    dispose: () => {
      opt.dispose();
      model.dispose();
      tf.dispose(b.images);
    },
  };
}

/**
 * Steps alternately with `path` (an {@link AB_PATHS} name) off and on;
 * prints ms per step of each kernel under both.
 */
function abProfile(
  name: string,
  path: string,
  step: () => void,
  table: Map<string, KernelTime>,
  steps: number,
  top: number,
): void {
  const toggle = AB_PATHS[path];
  if (!toggle) {
    throw new Error(
      `bench/kernel_profile.ts: --ab-path ${path}: not one of ${
        Object.keys(AB_PATHS)
      }`,
    );
  }
  const modes = [new Map<string, KernelTime>(), new Map<string, KernelTime>()];
  const totals = [0, 0];
  const initial = toggle(true);
  for (let i = 0; i < 2 * steps + 2; i++) {
    const on = i % 2;
    toggle(on === 1);
    table.clear();
    const t0 = performance.now();
    step();
    if (i < 2) continue; // each mode's own warm-up (primitive creation)
    totals[on] += performance.now() - t0;
    for (const [key, r] of table) {
      const row = modes[on].get(key) ?? { ms: 0, calls: 0 };
      row.ms += r.ms;
      row.calls += r.calls;
      modes[on].set(key, row);
    }
  }
  toggle(initial); // as the process had it
  const per = (ms: number) => (ms / steps).toFixed(1).padStart(8);
  console.log(
    `${name} on ${tf.getBackend()}, ms/step: oneDNN ${path} off ${
      per(totals[0])
    }, on ${per(totals[1])}`,
  );
  console.log("     off       on  calls kernel");
  const keys = [...new Set([...modes[0].keys(), ...modes[1].keys()])];
  const ms = (m: number, k: string) => modes[m].get(k)?.ms ?? 0;
  keys.sort((a, b) => ms(0, b) + ms(1, b) - ms(0, a) - ms(1, a));
  for (const k of keys.slice(0, top)) {
    const calls = (modes[0].get(k) ?? modes[1].get(k))!.calls / steps;
    console.log(
      `${per(ms(0, k))} ${per(ms(1, k))} ${String(calls).padStart(6)} ${k}`,
    );
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      model: { type: "string", default: "efficientnet-b0" },
      backend: { type: "string", default: "native" },
      batch: { type: "string", default: "8" },
      size: { type: "string", default: "128" },
      steps: { type: "string", default: "3" },
      top: { type: "string", default: "25" },
      shapes: { type: "boolean", default: false },
      infer: { type: "boolean", default: false },
      detector: { type: "string" },
      ab: { type: "boolean", default: false },
      "ab-path": { type: "string", default: "pointwise" },
    },
  });
  await selectBackend(builtinBackends, values.backend);
  const batch = Number(values.batch), size = Number(values.size);
  const { step, name, dispose } = values.detector
    ? detectorStep(values.detector, batch, size, values.infer)
    : modelStep(values.model, batch, size, values.infer);
  step(); // warm-up: caches, compiled kernels
  const table = instrumentKernels(tf.getBackend(), values.shapes);
  const steps = Number(values.steps);
  if (values.ab) {
    abProfile(name, values["ab-path"], step, table, steps, Number(values.top));
    dispose();
    return;
  }
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const total = (performance.now() - t0) / steps;
  const rows = [...table].sort((a, b) => b[1].ms - a[1].ms);
  const inKernels = rows.reduce((s, [, r]) => s + r.ms, 0) / steps;
  console.log(
    `${name} on ${tf.getBackend()}: ${total.toFixed(1)} ms/step, ${
      inKernels.toFixed(1)
    } ms in kernels, ${(total - inKernels).toFixed(1)} ms outside`,
  );
  for (const [name, r] of rows.slice(0, Number(values.top))) {
    console.log(
      `${(r.ms / steps).toFixed(1).padStart(8)} ms ${
        (100 * r.ms / steps / total).toFixed(1).padStart(5)
      }% ${String(r.calls / steps).padStart(5)}× ${name}`,
    );
  }
  dispose();
}

if (import.meta.main) await main();
