/**
 * RetinaNet (SPEC §4): anchors, matching, box coding, the shared class/box
 * subnets, focal + Huber loss and post-processing with (soft-)NMS.
 *
 * Registers the head `retinanet` and the loss `retinanet-loss`:
 *
 * ```ts
 * const head = registry.create("head", "retinanet", { convs: 7, filters: 512 }, deps);
 * const loss = registry.create("loss", "retinanet-loss", { gamma: 2 });
 * ```
 *
 * Head keys (`RetinaNetConfig`, defaults = reference values): `minLevel` 3,
 * `maxLevel` 7, `numScales` 3, `aspectRatios` [1, 2, 0.5] (width / height),
 * `anchorSize` 4, `convs` 4, `filters` 256, `priorProb` 0.01,
 * `matchPositive` 0.5, `matchNegative` 0.5 (0.4 gives the paper's ignore
 * band), `allowLowQuality` true, `crowdIoa` 0.5, `boxScales` [1, 1, 1, 1],
 * `preNmsTopK` 5000 (per class), `scoreThreshold` 0.05, `nmsIou` 0.5,
 * `maxDetections` 100, `softNms` false, `softNmsSigma` 0.3. Batch norm and
 * activation come from `HeadInputs.shared` (activation `auto` = relu).
 * Loss keys (`RetinaNetLossConfig`): `alpha` 0.25, `gamma` 1.5,
 * `huberDelta` 0.1, `boxWeight` 50, `normalizerMomentum` 0.
 *
 * Outputs are `{cls: [N, K, C] logits, box: [N, K, 4] offsets}` over all
 * anchors in anchor order; targets are `{labels: [N, K] (class, -1
 * background, -2 ignore), boxes: [N, K, 4], numPositives: [N]}`.
 *
 * Choices where the reference is silent or differs, all configurable or
 * harmless: crowd boxes ignore the anchors they mostly cover (the
 * reference drops crowd boxes); a box only claims its best anchor when
 * that IoU is above 0; the box loss masks by positive anchors (the
 * reference masks non-zero target elements); soft-NMS is pure Gaussian
 * decay with TensorFlow's `exp(-iou² / (2σ))`; levels have
 * `ceil(size / stride)` cells, which equals the reference when the input is
 * divisible by the largest stride.
 *
 * @module
 */
import { definePlugin, type Plugin } from "../../core/registry.ts";
import {
  RETINANET_DEFAULTS,
  RETINANET_HELP,
  RETINANET_LOSS_DEFAULTS,
  RETINANET_LOSS_HELP,
} from "./config.ts";
import { RetinaNetHead } from "./head.ts";
import { RetinaNetLoss } from "./loss.ts";

export * from "./anchors.ts";
export * from "./box_coder.ts";
export * from "./matcher.ts";
export * from "./nms.ts";
export * from "./postprocess.ts";
export * from "./focal_loss.ts";
export * from "./targets.ts";
export * from "./subnet.ts";
export * from "./head.ts";
export * from "./loss.ts";
export * from "./config.ts";

/** The RetinaNet plugin: head `retinanet`, loss `retinanet-loss`. */
const plugin: Plugin = definePlugin({
  name: "retinanet",
  setup(registry) {
    registry.register("head", {
      name: "retinanet",
      description:
        "RetinaNet head: P3-P7 anchors, shared class/box subnets, (soft-)NMS post-processing",
      defaults: RETINANET_DEFAULTS,
      help: RETINANET_HELP,
      create: (config, inputs) => new RetinaNetHead(config, inputs),
    });
    registry.register("loss", {
      name: "retinanet-loss",
      description:
        "Sigmoid focal (alpha, gamma) + Huber box loss, normalised by positives",
      defaults: RETINANET_LOSS_DEFAULTS,
      help: RETINANET_LOSS_HELP,
      create: (config) => new RetinaNetLoss(config),
    });
  },
});

export default plugin;
