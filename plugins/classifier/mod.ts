/**
 * The small classifier plugin: `tiny-convnet` backbone, `classification`
 * head, `softmax-ce` loss, and the generated `synthetic-classes` data. It is
 * the proof that registry, trainer and data path work together, and the
 * model of CPU-friendly classification pre-training.
 *
 * @module
 */
import { definePlugin, type Plugin } from "../../core/registry.ts";
import { TinyConvNet } from "./convnet.ts";
import {
  ClassificationHead,
  type PoolMode,
  SoftmaxCrossEntropy,
} from "./head.ts";
import { ShapeDataset } from "./shapes.ts";

export { TinyConvNet, type TinyConvNetConfig } from "./convnet.ts";
export {
  ClassificationHead,
  pooledLevels,
  pooledWidth,
  poolFeatures,
  type PoolMode,
  SoftmaxCrossEntropy,
} from "./head.ts";
export { renderShape, SHAPE_CLASSES, ShapeDataset } from "./shapes.ts";

/** Registers the classifier pieces. */
const classifierPlugin: Plugin = definePlugin({
  name: "classifier",
  setup(registry) {
    registry.register("backbone", {
      name: "tiny-convnet",
      description:
        "small plain conv net (stride-2 stages) for CPU work and tests",
      defaults: { width: 16, stages: 3, activation: "relu", bnMomentum: 0.9 },
      create: (c) =>
        new TinyConvNet({
          width: Number(c.width),
          stages: Number(c.stages),
          activation: c.activation as "relu",
          bnMomentum: Number(c.bnMomentum),
        }),
    });
    registry.register("head", {
      name: "classification",
      description:
        "global average pool (pool: deepest level or all, concatenated) + dense",
      defaults: { pool: "deepest" },
      create: (c, inputs) => new ClassificationHead(inputs, c.pool as PoolMode),
    });
    registry.register("loss", {
      name: "softmax-ce",
      description:
        "softmax cross-entropy with label smoothing (soft targets supported)",
      defaults: { labelSmoothing: 0 },
      create: (c) => new SoftmaxCrossEntropy(Number(c.labelSmoothing)),
    });
    registry.register("dataset", {
      name: "synthetic-classes",
      description:
        "generated one-shape images (circle, square, triangle, cross)",
      defaults: { seed: 0, train: 2000, val: 400, imageSize: 32 },
      create: (c) => {
        const seed = Number(c.seed),
          n = Number(c.train),
          size = Number(c.imageSize);
        return Promise.resolve({
          train: new ShapeDataset(seed, 0, n, size),
          val: new ShapeDataset(seed, n, Number(c.val), size),
        });
      },
    });
  },
});
export default classifierPlugin;
