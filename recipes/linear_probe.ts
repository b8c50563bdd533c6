/**
 * Linear-probe evaluation of a frozen backbone (SimCLR's linear evaluation
 * protocol, made cheap): pooled features of every image, computed once in
 * inference mode (batch norm on its moving statistics, no augmentation),
 * standardised with the train split's mean and std, then a multinomial
 * logistic regression (one dense layer, softmax cross-entropy, SGD with
 * momentum, cosine schedule, L2 on the weights) trained for a few epochs
 * on train and scored top-1 / top-5 on the other splits. Deterministic for
 * a seed.
 */
import * as tf from "@tensorflow/tfjs-core";
import { sequentialBatches } from "../core/data/loader.ts";
import { Dense, withInitSeed } from "../core/nn/layers.ts";
import { Rng, seedFor } from "../core/rng.ts";
import { Optimizer } from "../core/train/optimizer.ts";
import { learningRate } from "../core/train/schedule.ts";
import type { Dataset } from "../core/types.ts";
import { topKHits } from "./classification_eval.ts";
import { optimizerConfig } from "./train_config.ts";

/** `probe.*`: the logistic regression. */
export interface ProbeSection {
  [key: string]: number;
  /** Passes over the train features. */
  epochs: number;
  /** Features per step. */
  batchSize: number;
  /** Peak learning rate (cosine to 0). */
  lr: number;
  /** L2 weight decay on the weights. */
  weightDecay: number;
}

/** Defaults that converge on a few thousand features in seconds. */
export const PROBE_DEFAULTS: ProbeSection = {
  epochs: 30,
  batchSize: 256,
  lr: 0.1,
  weightDecay: 1e-4,
};

/** Meaning of the `probe.*` keys. */
export const PROBE_HELP: Readonly<Record<string, string>> = {
  epochs: "linear probe: passes over the frozen train features",
  batchSize: "linear probe: features per step",
  lr: "linear probe: peak learning rate (SGD momentum 0.9, cosine)",
  weightDecay: "linear probe: L2 weight decay",
};

/** Features of a split with their labels. */
export interface FeatureSet {
  /** Row-major `[n, dim]`. */
  x: Float32Array;
  /** Class of each row. */
  labels: Int32Array;
  /** Feature width. */
  dim: number;
}

/** Runs `features` (inference mode) over every image of `data`. */
export async function extractFeatures(
  features: (images: tf.Tensor4D) => tf.Tensor2D,
  data: Dataset,
  batchSize = 64,
): Promise<FeatureSet> {
  const parts: Float32Array[] = [];
  const labels = new Int32Array(data.size);
  let dim = 0, n = 0;
  for await (const batch of sequentialBatches(data, batchSize)) {
    const f = tf.tidy(() => features(batch.images));
    batch.images.dispose();
    dim = f.shape[1];
    parts.push((await f.data()) as Float32Array);
    f.dispose();
    for (const s of batch.samples) labels[n++] = s.label!;
  }
  const x = new Float32Array(n * dim);
  let at = 0;
  for (const p of parts) {
    x.set(p, at);
    at += p.length;
  }
  return { x, labels, dim };
}

/** Standardises every set with the mean and std of `train`'s columns. */
function standardise(train: FeatureSet, sets: FeatureSet[]): FeatureSet[] {
  const { dim } = train, n = train.labels.length;
  const mean = new Float64Array(dim), sq = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) {
      const v = train.x[i * dim + d];
      mean[d] += v;
      sq[d] += v * v;
    }
  }
  const inv = new Float64Array(dim);
  for (let d = 0; d < dim; d++) {
    mean[d] /= n;
    inv[d] = 1 / Math.sqrt(Math.max(sq[d] / n - mean[d] ** 2, 0) + 1e-6);
  }
  return sets.map((s) => {
    const x = new Float32Array(s.x.length);
    for (let i = 0; i < x.length; i++) {
      const d = i % dim;
      x[i] = (s.x[i] - mean[d]) * inv[d];
    }
    return { ...s, x };
  });
}

/**
 * Trains the logistic regression on `train` and returns, per named set,
 * `[top1, top5]` (top-k capped at the class count).
 */
export async function linearProbe(
  train: FeatureSet,
  evalSets: Readonly<Record<string, FeatureSet>>,
  classes: number,
  o: ProbeSection,
  seed: number,
): Promise<Record<string, [number, number]>> {
  const names = Object.keys(evalSets);
  const [tr, ...rest] = standardise(train, [
    train,
    ...names.map((k) => evalSets[k]),
  ]);
  const { dim } = tr, n = tr.labels.length;
  const layer = withInitSeed(
    seedFor(seed, 0x9b0e),
    () => new Dense(dim, classes),
  );
  const params = new Map(layer.namedParameters());
  const optimizer = new Optimizer(optimizerConfig("sgd", 0.9, o.weightDecay));
  const perEpoch = Math.ceil(n / o.batchSize);
  const schedule = {
    type: "cosine" as const,
    baseLr: o.lr,
    warmupSteps: 0,
    warmupFactor: 1,
    boundaries: [],
    decayFactor: 1,
    minFactor: 0,
    totalSteps: o.epochs * perEpoch,
  };
  let step = 0;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const order = new Rng(seedFor(seed, epoch)).shuffle(
      Array.from({ length: n }, (_, i) => i),
    );
    for (let start = 0; start < n; start += o.batchSize) {
      const rows = order.slice(start, start + o.batchSize);
      const xb = new Float32Array(rows.length * dim);
      rows.forEach((r, i) =>
        xb.set(tr.x.subarray(r * dim, (r + 1) * dim), i * dim)
      );
      const x = tf.tensor2d(xb, [rows.length, dim]);
      const y = tf.oneHot(
        tf.tensor1d(rows.map((r) => tr.labels[r]), "int32"),
        classes,
      );
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, layer.apply(x)) as tf.Scalar,
        [...params.values()],
      );
      const byName = new Map<string, tf.Tensor>();
      for (const [name, v] of params) byName.set(name, grads[v.name]);
      optimizer.apply(params, byName, learningRate(schedule, step++));
      tf.dispose([x, y, value, ...Object.values(grads)]);
    }
  }
  const out: Record<string, [number, number]> = {};
  for (const [i, name] of names.entries()) {
    const s = rest[i];
    const logits = tf.tidy(() =>
      layer.apply(tf.tensor2d(s.x, [s.labels.length, dim]))
    );
    const scores = (await logits.data()) as Float32Array;
    logits.dispose();
    const [h1, h5] = topKHits(scores, classes, s.labels, [1, 5]);
    out[name] = [h1 / s.labels.length, h5 / s.labels.length];
  }
  optimizer.dispose();
  layer.dispose();
  return out;
}
