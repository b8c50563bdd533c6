/**
 * The small classifier plugin: `tiny-convnet` backbone, `classification`
 * head, `softmax-ce` loss, and the generated `synthetic-classes` data. It is
 * the proof that registry, trainer and data path work together, and the
 * model of CPU-friendly classification pre-training.
 *
 * @module
 */
import { definePlugin, type Plugin } from "../../core/registry.ts";
import { normActFrom } from "../layers/conv_bn.ts";
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
      defaults: { width: 16, stages: 3 },
      help: {
        width: "channels of the first stage (doubling per stage)",
        stages: "stride-2 stages (output levels 1..stages)",
      },
      create: (c, ctx) =>
        new TinyConvNet({ ...c, ...normActFrom(ctx.shared, "relu") }),
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
      create: (c) => new SoftmaxCrossEntropy(c.labelSmoothing),
    });
    registry.register("dataset", {
      name: "synthetic-classes",
      description:
        "generated one-shape images (circle, square, triangle, cross)",
      defaults: { seed: 0, train: 2000, val: 400, imageSize: 32 },
      create: (c) =>
        Promise.resolve({
          train: new ShapeDataset(c.seed, 0, c.train, c.imageSize),
          val: new ShapeDataset(c.seed, c.train, c.val, c.imageSize),
        }),
    });
  },
});
export default classifierPlugin;
