/**
 * `--help` text of `coco-selftrain`'s own keys (the detection keys it shares
 * with `coco-supervised` come from `detection.ts`).
 */
import { DETECTION_COMMON_HELP } from "./detection.ts";
import { JOINT_HELP } from "./joint_training.ts";
import { prefixKeys, TRAIN_HELP } from "./train_config.ts";

/** Meaning of each `coco-selftrain` key. */
export const COCO_SELFTRAIN_HELP: Readonly<Record<string, string>> = {
  ...DETECTION_COMMON_HELP,
  phase:
    "all, or up to one phase: teacher, label (with --shard for one slice of the pool), student, baseline",
  shard:
    "I/N: with --phase label, label shard I of N of the unlabelled pool (then deno task merge-labels)",
  baselineBatch:
    "compute-matched baseline's images per step, all human: human (as many as the student's human half, the same batches without the pseudo half) or full (the student's whole batch size)",
  shardMode:
    "range (contiguous slices of the pool listing) or hash (by image id; stable when the pool is reordered or grows)",
  augment:
    "student augmentation: S1, S2, S3, S4 (SPEC levels) or an augmenter plugin; usually stronger than the teacher's",
  ...prefixKeys("teacher", TRAIN_HELP),
  "teacher.augment": "teacher augmentation (S1..S4 or an augmenter plugin)",
  "pseudo.labeler":
    "labeler plugin (hard: boxes with score >= threshold after NMS; soft: those boxes for the box loss, and the teacher's per-anchor class probabilities as class targets)",
  "pseudo.nms":
    "extra NMS on the teacher's boxes before thresholding: none (the head's class-wise NMS only), classwise, or agnostic (one box per object across classes)",
  "pseudo.temperature":
    "soft labels: class targets are sigmoid(teacher logit / temperature); < 1 sharpens",
  "pseudo.threshold": "teacher score threshold for a pseudo box (paper: 0.5)",
  "pseudo.batchSize": "images per teacher inference batch",
  "pseudo.ignoreBelow":
    "teacher boxes scoring in [ignoreBelow, threshold) become ignore regions, not background (0: off, the paper's rule)",
  ...prefixKeys("student", TRAIN_HELP),
  ...prefixKeys("joint", JOINT_HELP),
  "student.init":
    "random (paper: model.init, i.e. random weights or its pre-trained backbone, with a fresh head) or teacher (start from the teacher's weights)",
  "student.mixRatio": "human:pseudo images per batch (paper: 1:1)",
  "student.normalize":
    "loss normalisation L = (L_h + a*(avgL_h/avgL_p)*L_p)/(1+a); false for the ablation",
  "student.alpha": "weight a of the pseudo loss",
  "student.normDecay": "EMA decay of the moving loss averages",
  "student.positivesMomentum":
    "moving average of positive anchors normalising each half's detection loss (detectron2); 0 = this batch's count, which spikes on pseudo halves with no box",
};
