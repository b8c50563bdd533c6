/**
 * Helpers for the foundation tests: a fast backend, a tiny model and an
 * in-memory batch source.
 */
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
import { BatchLoader, shuffledPlan } from "../core/data/loader.ts";
import type { TrainerConfig } from "../core/train/loop.ts";

/** Activates the wasm backend (idempotent). */
export async function useWasm(): Promise<void> {
  if (tf.getBackend() !== "wasm") await wasmBackend.activate();
}

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

/** A small SGD trainer config. */
export function tinyTrainerConfig(
  steps: number,
  checkpointEvery = 0,
): TrainerConfig {
  return {
    steps,
    optimizer: {
      type: "sgd",
      momentum: 0.9,
      nesterov: false,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-7,
      weightDecay: 1e-4,
    },
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

/** Values of every variable of a model, by name. */
export function snapshot(model: TaskModel): Map<string, Float32Array> {
  return new Map(
    model.namedVariables().map(([n, v]) => [n, v.dataSync() as Float32Array]),
  );
}
