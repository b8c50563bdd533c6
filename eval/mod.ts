/**
 * Evaluation: COCO bbox AP with pycocotools semantics, the COCO file formats,
 * and their readers / writers, and segmentation mean IoU from one
 * confusion matrix.
 */
export {
  COCO_METRIC_NAMES,
  type CocoCategoryAP,
  type CocoEvalOptions,
  type CocoEvalResult,
  type CocoMetricName,
  type CocoMetrics,
  evaluateCoco,
  formatCocoSummary,
} from "./coco_eval.ts";
export {
  type CocoAnnotation,
  type CocoCategory,
  type CocoDataset,
  type CocoImage,
  type CocoResult,
  parseCocoDataset,
  parseCocoResults,
  readCocoDataset,
  readCocoResults,
} from "./coco_format.ts";
export {
  type CocoEvalParams,
  defaultCocoParams,
  linspace,
} from "./coco_params.ts";
export type { Accumulated } from "./coco_accumulate.ts";
export { argsortDescStable } from "./sort.ts";
export { ConfusionMatrix, type SegmentationMetrics } from "./miou.ts";
