/**
 * Helpers for the foundation tests: the wasm backend (activated on import),
 * a tiny model, an in-memory batch source and a short training run.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { wasmBackend } from "../plugins/backends/wasm.ts";
import { Registry } from "../core/registry.ts";
import { TaskModel } from "../core/model.ts";
import { withInitSeed } from "../core/nn/layers.ts";
import classifierPlugin from "../plugins/classifier/mod.ts";
import { TinyConvNet } from "../plugins/classifier/convnet.ts";
import {
  ClassificationHead,
  SoftmaxCrossEntropy,
} from "../plugins/classifier/head.ts";
import { ShapeDataset } from "../plugins/classifier/shapes.ts";
import {
  BatchLoader,
  type SampleBatch,
  shuffledPlan,
} from "../core/data/loader.ts";
import type {
  BatchSource,
  TrainerConfig,
  TrainOptions,
  TrainResult,
} from "../core/train/loop.ts";
import { train } from "../core/train/trainer.ts";
import { optimizerConfig } from "../recipes/train_config.ts";

// The foundation tests run on wasm: importing this module activates it
// (a test that wants another backend sets it after the imports).
if (tf.getBackend() !== "wasm") await wasmBackend.activate();

/** A registry with the classifier plugin only. */
export function classifierRegistry(): Registry {
  return new Registry().use(classifierPlugin);
}

/** A tiny seeded classifier (width 4, 2 stages). */
export function tinyModel(seed: number): TaskModel {
  return withInitSeed(seed, () => {
    const backbone = new TinyConvNet({
      width: 4,
      stages: 2,
      activation: "relu",
      bnMomentum: 0.9,
    });
    const head = new ClassificationHead({
      channels: backbone.outputChannels,
      numClasses: 4,
      inputSize: [16, 16],
    });
    return new TaskModel(backbone, head, new SoftmaxCrossEntropy());
  });
}

/** A loader over 64 generated 16×16 images. */
export function tinyLoader(seed: number, batchSize = 8): BatchLoader {
  const data = new ShapeDataset(seed, 0, 64, 16);
  return new BatchLoader({ plan: shuffledPlan(data, batchSize, seed) });
}

/**
 * `tinyLoader(seed, batchSize)` whose batch `failAt` and later ones reject
 * with "killed", as a crash would.
 */
export function crashingLoader(
  seed: number,
  failAt: number,
  batchSize = 8,
): BatchSource<SampleBatch> {
  const loader = tinyLoader(seed, batchSize);
  return {
    batchAt: (s) =>
      s >= failAt ? Promise.reject(new Error("killed")) : loader.batchAt(s),
    sizeOf: (b) => loader.sizeOf(b),
    dispose: (b) => loader.dispose(b),
  };
}

/** A small SGD trainer config. */
export function tinyTrainerConfig(
  steps: number,
  checkpointEvery = 0,
): TrainerConfig {
  return {
    steps,
    optimizer: optimizerConfig("sgd", 0.9, 1e-4),
    schedule: {
      type: "cosine",
      baseLr: 0.05,
      warmupSteps: 3,
      warmupFactor: 0.1,
      boundaries: [],
      decayFactor: 0.1,
      minFactor: 0,
    },
    clipNorm: 10,
    emaDecay: 0.9,
    seed: 1,
    checkpointEvery,
  };
}

/** Options of `trainTiny`: any of `train`'s but the model. */
export interface TinyTrainOptions
  extends Partial<Omit<TrainOptions<SampleBatch>, "model" | "config">> {
  /** Trainer keys over `tinyTrainerConfig(steps)`. */
  config?: Partial<TrainerConfig>;
}

/**
 * Trains `model` (phase `p` unless given) for `steps` steps of
 * `tinyTrainerConfig` on `tinyLoader(dataSeed)` with its own loss;
 * `opts` replaces any of these and adds the rest of `train`'s options.
 */
export function trainTiny(
  model: TaskModel,
  steps: number,
  dataSeed: number,
  opts: TinyTrainOptions = {},
): Promise<TrainResult> {
  const { config, data, ...rest } = opts;
  return train({
    phase: "p",
    model,
    config: { ...tinyTrainerConfig(steps), ...config },
    data: data ?? tinyLoader(dataSeed),
    loss: (b, c) => model.loss(b, c),
    ...rest,
  });
}

/** Values of every variable of a model, by name. */
export function snapshot(model: TaskModel): Map<string, Float32Array> {
  return new Map(
    model.namedVariables().map(([n, v]) => [n, v.dataSync() as Float32Array]),
  );
}

/** Asserts every variable of `b` is within `tolerance` of the same one of `a`. */
export function assertSameWeights(
  a: TaskModel,
  b: TaskModel,
  tolerance = 1e-5,
): void {
  const want = snapshot(a), got = snapshot(b);
  for (const [k, v] of want) {
    const w = got.get(k)!;
    const diff = v.reduce((m, x, i) => Math.max(m, Math.abs(x - w[i])), 0);
    assert.ok(diff < tolerance, `${k} differs by ${diff}`);
  }
}
