/**
 * Detector training-step benchmark: RetinaNet (4 convs of 256 channels per
 * subnet, P3–P7, 9 anchors a cell, focal + Huber loss with anchor matching)
 * on a given backbone, SGD-momentum on a synthetic batch, then inference
 * forward passes (no post-processing); bench/pytorch_retinanet.py is the
 * PyTorch twin.
 *   deno run -A cli/bench_detector.ts --backbone efficientnet-fpn --size 256 \
 *     --batch 4 --steps 3 --backend native --json
 * The last line is JSON like cli/bench_model.ts's.
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "node:util";
import { selectBackend } from "../core/backend.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";
import {
  benchDetector,
  detectorTrainStep,
  sgdOptimizer,
  syntheticBatch,
} from "../bench/models/detector.ts";
import type { BenchModelResult } from "./bench_model.ts";

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      backbone: { type: "string", default: "efficientnet-fpn" },
      batch: { type: "string", default: "4" },
      size: { type: "string", default: "256" },
      steps: { type: "string", default: "3" },
      classes: { type: "string", default: "80" },
      backend: { type: "string", default: "auto" },
      json: { type: "boolean", default: false },
    },
  });
  const [batch, size, steps] = [values.batch, values.size, values.steps]
    .map(Number);
  const registry = createBuiltinRegistry();
  const choice = await selectBackend(
    registry.entries("backend"),
    values.backend,
  );
  console.log(`backend ${choice.name}: ${choice.why}`);
  const model = benchDetector(
    registry,
    values.backbone,
    Number(values.classes),
    size,
  );
  const opt = sgdOptimizer();
  const b = syntheticBatch(batch, size);
  let peakRss = Deno.memoryUsage().rss;
  const timed = (n: number, f: () => void) => {
    f(); // warm-up
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      f();
      peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
    }
    return (performance.now() - t0) / 1000;
  };
  const trainS = timed(steps, () => detectorTrainStep(model, opt, b));
  const inferS = timed(steps, () => {
    const out = tf.tidy(() => {
      const raw = model.forward(b.images, { training: false });
      return Object.values(raw as Record<string, tf.Tensor>);
    });
    for (const t of out) t.dataSync();
    tf.dispose(out);
  });
  const params = model.namedParameters().reduce((n, [, v]) => n + v.size, 0);
  const result: BenchModelResult = {
    model: `retinanet-${values.backbone}`,
    params,
    backend: choice.name,
    train_images_per_s: Math.round(batch * steps / trainS * 100) / 100,
    infer_images_per_s: Math.round(batch * steps / inferS * 100) / 100,
    peak_rss_mb: Math.round(peakRss / 2 ** 20),
  };
  if (!values.json) {
    console.log(
      `${result.model} (${params} params), batch ${batch}, ${size}px: train ${
        (trainS * 1000 / steps).toFixed(0)
      } ms/step, infer ${(inferS * 1000 / steps).toFixed(0)} ms/batch`,
    );
  }
  opt.dispose();
  model.dispose();
  tf.dispose(b.images);
  console.log(JSON.stringify(result));
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(1);
  }
}
