/**
 * The contracts every plugin implements. A model is a `Backbone` (images →
 * feature pyramid) plus a `Head` (features → raw outputs, targets, and
 * predictions) plus a `Loss`. Detection, segmentation and classification use
 * the same contracts; only the output and target trees differ.
 *
 * Outputs and targets are "tensor trees" whose leaves all have the batch as
 * their first dimension, so generic code (self-training's human / pseudo
 * split, EMA evaluation) can slice them without knowing the task.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { ForwardContext, Module } from "./nn/module.ts";
import type { Rng } from "./rng.ts";
import type { Prediction, Sample } from "./types.ts";

/**
 * Feature maps keyed by pyramid level: level `l` has stride `2**l` relative
 * to the input (level 2 = stride 4 for DeepLabv3+'s decoder, level 4 =
 * stride 16, levels 3..7 for RetinaNet). A classification backbone may also
 * expose a pooled embedding under the `"pooled"` convention of its head.
 */
export type FeaturePyramid = Record<number, tf.Tensor4D>;

/** A nested structure of tensors whose leaves are batch-first. */
export type TensorTree =
  | tf.Tensor
  | TensorTree[]
  | { [key: string]: TensorTree | undefined };

/** Activation names (the building blocks' `activate` applies them). */
export type Activation = "relu" | "swish" | "sigmoid" | "linear" | "relu6";

/**
 * Settings every part of a model shares (Model Garden's `norm_activation`),
 * handed to each backbone and head when it is built; a part ignores what it
 * does not use.
 */
export interface SharedSettings {
  /** Batch-norm moving-average momentum. */
  bnMomentum: number;
  /** Batch-norm variance epsilon. */
  bnEpsilon: number;
  /** Activation after conv + batch norm; `auto`: each part's own default. */
  activation: Activation | "auto";
}

/** Model Garden's values: momentum 0.99, epsilon 1e-3, each part's activation. */
export const DEFAULT_SHARED: Readonly<SharedSettings> = {
  bnMomentum: 0.99,
  bnEpsilon: 1e-3,
  activation: "auto",
};

/** What a backbone gets when it is built, besides its own config. */
export interface BackboneContext {
  /** The model's shared settings. */
  readonly shared: Readonly<SharedSettings>;
}

/** Images → multi-level features. */
export interface Backbone extends Module {
  /** Channels of each output level, known before any forward pass. */
  readonly outputChannels: Readonly<Record<number, number>>;
  /** Runs the backbone on a `[N, H, W, 3]` batch scaled to model input. */
  apply(images: tf.Tensor4D, ctx: ForwardContext): FeaturePyramid;
}

/** What a head needs to know about its inputs when it is built. */
export interface HeadInputs {
  /** Channels per feature level, from `Backbone.outputChannels`. */
  channels: Readonly<Record<number, number>>;
  /** Number of classes (foreground classes for detection). */
  numClasses: number;
  /** Model input size `[height, width]`. */
  inputSize: readonly [number, number];
  /** The model's shared settings (absent: `DEFAULT_SHARED`). */
  shared?: Readonly<SharedSettings>;
}

/**
 * Features → raw outputs; samples → encoded targets; raw outputs →
 * predictions in source-image coordinates.
 */
export interface Head<Out extends TensorTree, Targets extends TensorTree>
  extends Module {
  /** Raw outputs (logits, box regressions) for a feature pyramid. */
  apply(features: FeaturePyramid, ctx: ForwardContext): Out;
  /** Encodes the samples' targets (boxes, masks, labels) as tensors. */
  encodeTargets(samples: readonly Sample[]): Targets;
  /** Decodes raw outputs into predictions, one per sample. */
  postprocess(out: Out, samples: readonly Sample[]): Promise<Prediction[]>;
}

/** A scalar loss plus its named parts (for logging and normalisation). */
export interface LossResult {
  /** The value that is minimised. */
  total: tf.Scalar;
  /** Named components (e.g. `cls`, `box`), each a scalar. */
  components: Record<string, tf.Scalar>;
}

/** Raw outputs + encoded targets → loss. */
export interface Loss<Out extends TensorTree, Targets extends TensorTree> {
  /** Registered name. */
  readonly name: string;
  /** Computes the loss of a batch. */
  compute(out: Out, targets: Targets): LossResult;
  /**
   * State kept across batches (e.g. a moving average of positives), saved
   * with checkpoints so a resumed run ends bit-identical; absent when the
   * loss is stateless.
   */
  readonly state?: ResumableState;
}

/** State outside the model that must survive a resume (e.g. loss EMAs). */
export interface ResumableState {
  /** JSON-serialisable snapshot (a promise where it is read back from a device). */
  save(): unknown | Promise<unknown>;
  /** Restores a snapshot from `save`. */
  load(snapshot: unknown): void;
}

/**
 * Sample → augmented sample, with all randomness drawn from `rng` so a
 * sample's result depends only on the seed it was given.
 */
export interface Augmenter {
  /** Registered name. */
  readonly name: string;
  /** Transforms image and targets (boxes, mask) together. */
  apply(sample: Sample, rng: Rng): Sample;
}

/**
 * Pseudo-labels of one image in SOURCE-image pixels: what a labeler returns,
 * the pseudo-label store persists and the pseudo-labelled dataset serves.
 * They are converted to a sample's pixels once, when the sample is loaded.
 */
export interface PseudoLabels {
  /** Image id. */
  id: number | string;
  /** Source image width in pixels. */
  width: number;
  /** Source image height in pixels. */
  height: number;
  /** Boxes `[x1, y1, x2, y2]` flattened (detection; empty otherwise). */
  boxes: Float32Array;
  /** Teacher score of each box. */
  scores: Float32Array;
  /** Class of each box (contiguous label). */
  classes: Int32Array;
  /** 1 where a box is an ignore region (neither object nor background). */
  ignore: Uint8Array;
  /** Class per pixel, `width × height`, 255 = ignored (segmentation). */
  mask?: Uint8Array;
}

/**
 * Teacher prediction → pseudo-labels for `sample` (in source pixels), or
 * `null` when nothing should be kept.
 */
export interface Labeler {
  /** Registered name. */
  readonly name: string;
  /** Turns a teacher prediction on `sample` into pseudo-labels. */
  label(prediction: Prediction, sample: Sample): PseudoLabels | null;
}
