/**
 * The detector of cli/bench_detector.ts and bench/kernel_profile.ts:
 * RetinaNet (4 convs of 256 channels per subnet, P3–P7, 9 anchors a cell)
 * on a registered backbone, a synthetic batch and one SGD-momentum step.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { SampleBatch } from "../../core/data/loader.ts";
import type { TaskModel } from "../../core/model.ts";
import type { Registry } from "../../core/registry.ts";
import type { Optimizer } from "../../core/train/optimizer.ts";
import type { Sample } from "../../core/types.ts";
import { buildDetector } from "../../recipes/detection.ts";
import { RETINANET_DEFAULTS } from "../../plugins/retinanet/config.ts";

export { sgdOptimizer } from "./bench_model.ts";

/** RetinaNet with the standard head on `backbone` for `size`-pixel input. */
export function benchDetector(
  registry: Registry,
  backbone: string,
  classes: number,
  size: number,
): TaskModel {
  return buildDetector(
    registry,
    {
      backbone,
      backboneConfig: {},
      bnMomentum: 0.99,
      bnEpsilon: 1e-3,
      activation: "auto",
      head: RETINANET_DEFAULTS,
      init: "random",
      freezeAt: -1,
    },
    classes,
    size,
    0,
  );
}

/** A batch of `n` noise images with three boxes each. */
export function syntheticBatch(n: number, size: number): SampleBatch {
  const s = size / 8;
  const samples: Sample[] = Array.from({ length: n }, (_, i) => ({
    id: i,
    image: {
      data: new Uint8Array(0),
      width: size,
      height: size,
      channels: 3,
    },
    boxes: Float32Array.of(s, s, 3 * s, 2 * s, 4 * s, 3 * s, 7 * s, 7 * s),
    labels: Int32Array.of(1, 3),
    meta: { sourceWidth: size, sourceHeight: size, scale: 1 },
  }));
  return {
    images: tf.randomNormal([n, size, size, 3], 0, 1, "float32", 1),
    samples,
  };
}

/** One SGD step of `model` on `b` (lr 0.01). */
export function detectorTrainStep(
  model: TaskModel,
  opt: Optimizer,
  b: SampleBatch,
): void {
  const params = new Map(model.namedParameters());
  const { value, grads } = tf.variableGrads(
    () => model.loss(b, { training: true }).total,
    [...params.values()],
  );
  const named = new Map([...params].map(([n, v]) => [n, grads[v.name]]));
  opt.apply(params, named, 0.01);
  tf.dispose([value, ...Object.values(grads)]);
}
