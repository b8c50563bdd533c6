/**
 * Built-in pseudo-labelers (SPEC §2) and the teacher's test-time
 * augmentation helpers. The default export registers `hard` (detection)
 * and `hard-seg` (segmentation). Both return `PseudoLabels` in source pixels.
 * (Detection's soft pseudo-labels, `pseudo.labeler=soft`, are the teacher's
 * per-anchor scores computed during the student's step: `recipes/student_loss.ts`.)
 *
 * @module
 */
import { definePlugin, type Plugin } from "../../core/registry.ts";
import { hardDetectionSpec } from "./hard_detection.ts";
import { hardSegmentationSpec } from "./hard_segmentation.ts";

export * from "./box_ops.ts";
export * from "./hard_detection.ts";
export * from "./hard_segmentation.ts";
export * from "./prob_maps.ts";
export * from "./tta.ts";

/** Registers the built-in labelers. */
const labelers: Plugin = definePlugin({
  name: "labelers",
  setup(registry) {
    registry.register("labeler", hardDetectionSpec);
    registry.register("labeler", hardSegmentationSpec);
  },
});

export default labelers;
