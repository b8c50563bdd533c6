/**
 * The contract of a benchmark model: trainable variables, a forward pass
 * from NHWC images to logits, and its parameter count. Benchmark models are
 * the product's own modules (`core/nn`, `plugins/layers`), trained by its
 * optimizer.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Optimizer } from "../../core/train/optimizer.ts";
import { optimizerConfig } from "../../recipes/train_config.ts";

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
  return new Optimizer(optimizerConfig("sgd", 0.9, weightDecay));
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
