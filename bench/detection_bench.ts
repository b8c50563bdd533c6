/**
 * Detector training and inference throughput (the recipes' CPU preset and
 * SpineNet-tiny, RetinaNet head, batch 8 at 128×128, synthetic boxes) on
 * one backend, `auto` unless `SELFTRAIN_BACKEND` names another:
 *   deno bench -A bench/detection_bench.ts
 *   SELFTRAIN_BACKEND=wasm deno bench -A bench/detection_bench.ts
 * Each bench iteration is one training step (or one inference batch), so
 * images/s = 8 / (time per iteration); compare rows as ratios.
 */
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../core/backend.ts";
import type { SampleBatch } from "../core/data/loader.ts";
import type { Sample } from "../core/types.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";
import { buildDetector } from "../recipes/detection.ts";
import { detectorTrainStep, sgdOptimizer } from "./models/detector.ts";
import { CPU_DETECTOR } from "../recipes/coco_supervised.ts";

const SIZE = 128, BATCH = 8;
const registry = createBuiltinRegistry();

function batch(): SampleBatch {
  const samples: Sample[] = Array.from({ length: BATCH }, (_, i) => ({
    id: i,
    image: {
      data: new Uint8Array(SIZE * SIZE * 3),
      width: SIZE,
      height: SIZE,
      channels: 3,
    },
    boxes: Float32Array.of(10, 12, 50, 40, 60, 64, 110, 120),
    labels: Int32Array.of(1, 3),
    meta: { sourceWidth: SIZE, sourceHeight: SIZE, scale: 1 },
  }));
  return {
    images: tf.randomNormal(
      [BATCH, SIZE, SIZE, 3],
      0,
      1,
      "float32",
      1,
    ) as tf.Tensor4D,
    samples,
  };
}

const chosen = await selectBackend(
  registry.entries("backend"),
  Deno.env.get("SELFTRAIN_BACKEND") ?? "auto",
);
for (const backbone of [CPU_DETECTOR.backbone, "spinenet-tiny"]) {
  const model = buildDetector(
    registry,
    { ...CPU_DETECTOR, backbone },
    5,
    SIZE,
    0,
  );
  const opt = sgdOptimizer(4e-5);
  const b = batch();
  detectorTrainStep(model, opt, b); // warm-up: kernels, optimizer slots
  Deno.bench({
    name:
      `${backbone} train step (batch ${BATCH}, ${SIZE}px) on ${chosen.name}`,
    group: "detector train step",
    baseline: backbone === CPU_DETECTOR.backbone,
    n: 5,
    warmup: 1,
    fn: () => detectorTrainStep(model, opt, b),
  });
  Deno.bench({
    name: `${backbone} inference (batch ${BATCH}, ${SIZE}px) on ${chosen.name}`,
    group: "detector inference",
    baseline: backbone === CPU_DETECTOR.backbone,
    n: 5,
    warmup: 1,
    fn: async () => void await model.predict(b.images, b.samples),
  });
}
