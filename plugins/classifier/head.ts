/**
 * Classification head and loss: global average pooling of the deepest
 * level (or of every level, concatenated: a backbone with an FPN then
 * trains all its levels), dropout-free dense layer, softmax cross-entropy
 * with label smoothing. Soft (pseudo) targets in `sample.soft` are used as
 * is, which is how soft self-training and distillation plug in.
 */
import * as tf from "@tensorflow/tfjs-core";
import type {
  FeaturePyramid,
  Head,
  HeadInputs,
  Loss,
  LossResult,
} from "../../core/contracts.ts";
import { Dense } from "../../core/nn/layers.ts";
import { Module } from "../../core/nn/module.ts";
import type { Prediction, Sample } from "../../core/types.ts";

/** Which feature levels are pooled: the deepest, or all (concatenated, finest first). */
export type PoolMode = "deepest" | "all";

/** The levels `mode` pools, from a backbone's channels per level. */
export function pooledLevels(
  channels: Readonly<Record<number, number>>,
  mode: PoolMode,
): number[] {
  const levels = Object.keys(channels).map(Number).sort((a, b) => a - b);
  if (mode === "all") return levels;
  if (mode === "deepest") return [levels[levels.length - 1]];
  throw new Error(`pool must be "deepest" or "all", got "${mode}"`);
}

/** Width of the pooled feature vector. */
export function pooledWidth(
  channels: Readonly<Record<number, number>>,
  mode: PoolMode,
): number {
  return pooledLevels(channels, mode).reduce((n, l) => n + channels[l], 0);
}

/** Global average pool of `levels`, concatenated: `[N, Σ channels]`. */
export function poolFeatures(
  features: FeaturePyramid,
  levels: readonly number[],
): tf.Tensor2D {
  return tf.tidy(() => {
    const pooled = levels.map((l) => tf.mean(features[l], [1, 2]));
    return (pooled.length === 1
      ? pooled[0]
      : tf.concat(pooled, 1)) as tf.Tensor2D;
  });
}

/** Global-pool + dense head. */
export class ClassificationHead extends Module
  implements Head<tf.Tensor2D, tf.Tensor2D> {
  readonly #levels: number[];
  readonly #classes: number;
  readonly dense: Dense;

  /** Builds the head over the backbone's deepest level, or all levels. */
  constructor(inputs: HeadInputs, pool: PoolMode = "deepest") {
    super();
    this.#levels = pooledLevels(inputs.channels, pool);
    this.#classes = inputs.numClasses;
    this.dense = this.child(
      "dense",
      new Dense(pooledWidth(inputs.channels, pool), inputs.numClasses),
    );
  }

  /** Logits `[N, classes]`. */
  apply(features: FeaturePyramid): tf.Tensor2D {
    return this.dense.apply(poolFeatures(features, this.#levels));
  }

  /** One-hot (or soft) targets `[N, classes]`. */
  encodeTargets(samples: readonly Sample[]): tf.Tensor2D {
    const c = this.#classes;
    const t = new Float32Array(samples.length * c);
    samples.forEach((s, i) => {
      if (s.soft) t.set(s.soft, i * c);
      else if (s.label !== undefined && s.label >= 0 && s.label < c) {
        t[i * c + s.label] = 1;
      } else throw new Error(`sample ${s.id}: no class label in 0..${c - 1}`);
    });
    return tf.tensor2d(t, [samples.length, c]);
  }

  /** Class probabilities per sample. */
  async postprocess(
    out: tf.Tensor2D,
    samples: readonly Sample[],
  ): Promise<Prediction[]> {
    const probs = tf.softmax(out);
    const data = (await probs.data()) as Float32Array;
    probs.dispose();
    const c = this.#classes;
    return samples.map((s, i) => ({
      id: s.id,
      probs: data.slice(i * c, (i + 1) * c),
    }));
  }
}

/** Softmax cross-entropy with optional label smoothing. */
export class SoftmaxCrossEntropy implements Loss<tf.Tensor2D, tf.Tensor2D> {
  /** Registered name. */
  readonly name = "softmax-ce";
  readonly #smoothing: number;

  /** Creates the loss. */
  constructor(labelSmoothing = 0) {
    this.#smoothing = labelSmoothing;
  }

  /** Mean cross-entropy over the batch. */
  compute(logits: tf.Tensor2D, targets: tf.Tensor2D): LossResult {
    const c = targets.shape[1];
    const t = this.#smoothing > 0
      ? tf.add(tf.mul(targets, 1 - this.#smoothing), this.#smoothing / c)
      : targets;
    const ce = tf.neg(
      tf.mean(tf.sum(tf.mul(t, tf.logSoftmax(logits)), 1)),
    ) as tf.Scalar;
    return { total: ce, components: { ce } };
  }
}
