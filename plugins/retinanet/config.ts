/**
 * The one config of the `retinanet` head and the one of `retinanet-loss`:
 * each is the plugin's defaults, what its constructor takes, and (for the
 * head) the detection recipes' `model.head.*` section. Every SPEC §4 value
 * is a default. Batch-norm momentum / epsilon and the activation are the
 * model's shared settings (`HeadInputs.shared`), not head keys.
 */

/** Config of the `retinanet` head. */
export interface RetinaNetConfig {
  /** Lowest pyramid level (stride `2**minLevel`). */
  minLevel: number;
  /** Highest pyramid level. */
  maxLevel: number;
  /** Octave scales per level (3 gives 2^0, 2^(1/3), 2^(2/3)). */
  numScales: number;
  /** Aspect ratios, width / height. */
  aspectRatios: number[];
  /** Base anchor side as a multiple of the stride. */
  anchorSize: number;
  /** Hidden convolutions per subnet. */
  convs: number;
  /** Hidden channels of the subnets. */
  filters: number;
  /** Prior foreground probability of the class bias. */
  priorProb: number;
  /** IoU at or above which an anchor is positive. */
  matchPositive: number;
  /** IoU below which an anchor is negative. */
  matchNegative: number;
  /** Each box also claims its highest-IoU anchor. */
  allowLowQuality: boolean;
  /** Intersection / anchor area with a crowd box that ignores an anchor; 0 disables. */
  crowdIoa: number;
  /** Box coder scale factors (y, x, h, w). */
  boxScales: number[];
  /** Candidates per class kept before NMS. */
  preNmsTopK: number;
  /** Minimum sigmoid score of a detection. */
  scoreThreshold: number;
  /** NMS IoU threshold. */
  nmsIou: number;
  /** Detections per image. */
  maxDetections: number;
  /** Gaussian soft-NMS instead of greedy NMS. */
  softNms: boolean;
  /** Soft-NMS σ. */
  softNmsSigma: number;
}

/** Reference defaults (SPEC §4; 4 × 256 subnets). */
export const RETINANET_DEFAULTS: Readonly<RetinaNetConfig> = {
  minLevel: 3,
  maxLevel: 7,
  numScales: 3,
  aspectRatios: [1, 2, 0.5],
  anchorSize: 4,
  convs: 4,
  filters: 256,
  priorProb: 0.01,
  matchPositive: 0.5,
  matchNegative: 0.5,
  allowLowQuality: true,
  crowdIoa: 0.5,
  boxScales: [1, 1, 1, 1],
  preNmsTopK: 5000,
  scoreThreshold: 0.05,
  nmsIou: 0.5,
  maxDetections: 100,
  softNms: false,
  softNmsSigma: 0.3,
};

/** Meaning of each head key, for `--help`. */
export const RETINANET_HELP: Readonly<Record<keyof RetinaNetConfig, string>> = {
  minLevel: "lowest pyramid level (stride 2^minLevel)",
  maxLevel: "highest pyramid level",
  numScales: "octave scales per level (3: 2^0, 2^(1/3), 2^(2/3))",
  aspectRatios: "anchor aspect ratios, width / height",
  anchorSize:
    "anchor size as a multiple of the level's stride (paper: 4; 2 for small objects at small input sizes)",
  convs: "convs per class/box subnet (paper: 4; SpineNet-190: 7)",
  filters: "channels of the subnets (paper: 256; SpineNet-190: 512)",
  priorProb: "prior foreground probability of the class bias",
  matchPositive: "IoU at or above which an anchor is positive",
  matchNegative:
    "IoU below which an anchor is negative (0.4 gives the paper's ignore band)",
  allowLowQuality: "each box also claims its highest-IoU anchor",
  crowdIoa:
    "intersection / anchor area with a crowd box that ignores the anchor (0 = off)",
  boxScales: "box coder scale factors y,x,h,w",
  preNmsTopK: "candidates per class kept before NMS",
  scoreThreshold:
    "detections below this score are dropped before NMS (paper: 0.05)",
  nmsIou: "NMS IoU threshold",
  maxDetections: "detections per image",
  softNms: "soft-NMS (Gaussian) instead of hard NMS at inference",
  softNmsSigma: "soft-NMS sigma",
};

/** Config of the `retinanet-loss` loss. */
export interface RetinaNetLossConfig {
  /** Focal α. */
  alpha: number;
  /** Focal γ. */
  gamma: number;
  /** Huber δ. */
  huberDelta: number;
  /** Box loss weight. */
  boxWeight: number;
  /** Momentum of the positives' moving average; 0 = this batch's count. */
  normalizerMomentum: number;
}

/** Reference defaults (α 0.25, γ 1.5, δ 0.1, box weight 50). */
export const RETINANET_LOSS_DEFAULTS: Readonly<RetinaNetLossConfig> = {
  alpha: 0.25,
  gamma: 1.5,
  huberDelta: 0.1,
  boxWeight: 50,
  normalizerMomentum: 0,
};

/** Meaning of each loss key, for `--help`. */
export const RETINANET_LOSS_HELP: Readonly<
  Record<keyof RetinaNetLossConfig, string>
> = {
  alpha: "focal loss alpha",
  gamma: "focal loss gamma",
  huberDelta: "Huber delta of the box loss",
  boxWeight: "weight of the box loss",
  normalizerMomentum:
    "momentum of the positives' moving average normaliser (0 = this batch's count)",
};
