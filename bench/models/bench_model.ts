/**
 * The contract of a benchmark model: trainable variables, a forward pass
 * from NHWC images to logits, and its parameter count. Benchmark models are
 * written with tfjs-core ops and the framework's training batch norm, the
 * same pieces the product's models use.
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  batchNormTraining,
  FoldCache,
  type FoldedConv,
} from "../../core/nn/batch_norm.ts";
import { Optimizer } from "../../core/train/optimizer.ts";

/** A model the benchmark CLI can train and run. */
export interface BenchModel {
  /** Trainable variables (what the optimizer updates). */
  readonly variables: tf.Variable[];
  /** Number of trainable scalars (torchvision's `parameters()` count). */
  readonly params: number;
  /** NHWC images to logits [batch, classes]. */
  forward(x: tf.Tensor4D, training: boolean): tf.Tensor2D;
  /** Frees every variable and buffer. */
  dispose(): void;
}

/** Options every benchmark model factory accepts. */
export interface BenchModelOptions {
  /** Number of output classes. */
  classes: number;
  /** Seed for the initial weights. */
  seed: number;
}

/** Builds a benchmark model. */
export type BenchModelFactory = (options: BenchModelOptions) => BenchModel;

/** Holds a model's variables and running statistics while it is built. */
export class ParamStore {
  /** Trainable variables in creation order. */
  readonly variables: tf.Variable[] = [];
  /** Non-trainable buffers (batch-norm running statistics). */
  readonly buffers: tf.Variable[] = [];
  /** Folded conv + batch-norm pairs kept for inference. */
  readonly folds: FoldCache[] = [];
  #seed: number;

  constructor(seed: number) {
    this.#seed = seed;
  }

  /** He-normal initialised weight (fan-in = product of all but last dim). */
  he(shape: number[]): tf.Variable {
    const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const init = tf.tidy(() =>
      tf.mul(
        tf.randomNormal(shape, 0, 1, "float32", this.#seed++),
        Math.sqrt(2 / fanIn),
      )
    );
    const v = tf.variable(init, true);
    init.dispose();
    this.variables.push(v);
    return v;
  }

  /** A trainable variable filled with `value`. */
  constant(shape: number[], value: number): tf.Variable {
    const v = tf.variable(tf.fill(shape, value), true);
    this.variables.push(v);
    return v;
  }

  /** A non-trainable buffer filled with `value`. */
  buffer(shape: number[], value: number): tf.Variable {
    const v = tf.variable(tf.fill(shape, value), false);
    this.buffers.push(v);
    return v;
  }

  /** Trainable scalar count. */
  count(): number {
    return this.variables.reduce((n, v) => n + v.size, 0);
  }

  /** Disposes everything. */
  dispose(): void {
    tf.dispose([...this.variables, ...this.buffers]);
    for (const fold of this.folds) fold.dispose();
  }
}

/** Batch norm with running statistics, updated in training mode. */
export class BatchNorm {
  readonly #gamma: tf.Variable<tf.Rank.R1>;
  readonly #beta: tf.Variable<tf.Rank.R1>;
  readonly #mean: tf.Variable<tf.Rank.R1>;
  readonly #variance: tf.Variable<tf.Rank.R1>;
  readonly #folds = new FoldCache();

  constructor(store: ParamStore, channels: number) {
    store.folds.push(this.#folds);
    this.#gamma = store.constant([channels], 1) as tf.Variable<tf.Rank.R1>;
    this.#beta = store.constant([channels], 0) as tf.Variable<tf.Rank.R1>;
    this.#mean = store.buffer([channels], 0) as tf.Variable<tf.Rank.R1>;
    this.#variance = store.buffer([channels], 1) as tf.Variable<tf.Rank.R1>;
  }

  /**
   * Calls `use` with the conv `kernel` with this (inference-mode) batch norm
   * folded in, cached while the weights are unchanged as in the product.
   */
  withFolded<T>(kernel: tf.Tensor4D, use: (folded: FoldedConv) => T): T {
    return this.#folds.use(kernel, undefined, {
      gamma: this.#gamma,
      beta: this.#beta,
      mean: this.#mean,
      variance: this.#variance,
      epsilon: 1e-5,
    }, use);
  }

  /** Normalises NHWC `x` per channel (batch statistics when training). */
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    if (!training) {
      return tf.batchNorm4d(
        x,
        this.#mean,
        this.#variance,
        this.#beta,
        this.#gamma,
        1e-5,
      );
    }
    const { y, mean, variance } = batchNormTraining(
      x,
      this.#gamma,
      this.#beta,
      1e-5,
    );
    // running averages as in PyTorch (momentum 0.1), outside the gradient
    this.#mean.assign(
      tf.tidy(() => tf.add(tf.mul(this.#mean, 0.9), tf.mul(mean, 0.1))),
    );
    this.#variance.assign(
      tf.tidy(() => tf.add(tf.mul(this.#variance, 0.9), tf.mul(variance, 0.1))),
    );
    tf.dispose([mean, variance]);
    return y;
  }
}

/** One training step of a benchmark model and what it holds. */
export interface SgdTrainer {
  /**
   * Runs one SGD-momentum step on softmax cross-entropy; resolves to the
   * loss (read asynchronously, as WebGPU needs).
   */
  step(): Promise<number>;
  /** Frees the optimizer's momentum slots. */
  dispose(): void;
}

/** SGD with momentum 0.9, no weight decay (the benchmarks' optimizer). */
export function sgdOptimizer(weightDecay = 0): Optimizer {
  return new Optimizer({
    type: "sgd",
    momentum: 0.9,
    nesterov: false,
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-7,
    weightDecay,
  });
}

/**
 * The benchmarks' training protocol (bench/pytorch_classifier.py is the same
 * in PyTorch): SGD with momentum 0.9, learning rate 0.01, no weight decay,
 * softmax cross-entropy of `model` on `x` against one-hot `labels`, run by
 * the product's own optimizer (core/train/optimizer.ts) as the trainer does.
 */
export function sgdTrainer(
  model: BenchModel,
  x: tf.Tensor4D,
  labels: tf.Tensor,
): SgdTrainer {
  const optimizer = sgdOptimizer();
  const vars = new Map(model.variables.map((v) => [v.name, v]));
  return {
    async step(): Promise<number> {
      const { value, grads } = tf.variableGrads(
        () =>
          tf.losses.softmaxCrossEntropy(
            labels,
            model.forward(x, true),
          ) as tf.Scalar,
        model.variables,
      );
      optimizer.apply(vars, new Map(Object.entries(grads)), 0.01);
      const loss = (await value.data())[0];
      tf.dispose([value, ...Object.values(grads)]);
      return loss;
    },
    dispose: () => optimizer.dispose(),
  };
}
