/**
 * Joint training (paper §5): every detection step also classifies a batch
 * of a classification dataset with the shared backbone, through a
 * classification head (global pool + dense) on the backbone's deepest
 * level, and minimises `L_det + W · L_cls`. A hook around one training
 * phase: it wraps the phase's batches (each detection batch carries a
 * classification batch), its loss, and the module the optimiser trains
 * (the detector's variables plus `joint_head.*`, so checkpoints of the
 * detector still load into a plain detector). `W = 0` leaves the phase
 * exactly as without it.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { LossResult } from "../core/contracts.ts";
import {
  BatchLoader,
  type SampleBatch,
  shuffledPlan,
} from "../core/data/loader.ts";
import type { EventBus } from "../core/events.ts";
import { withInitSeed } from "../core/nn/layers.ts";
import { type ForwardContext, Module } from "../core/nn/module.ts";
import type { TaskModel } from "../core/model.ts";
import type { Registry } from "../core/registry.ts";
import { seedFor } from "../core/rng.ts";
import type { ResumableState } from "../core/contracts.ts";
import type { BatchSource } from "../core/train/trainer.ts";
import type { Dataset } from "../core/types.ts";

/** A phase's loss (re-exported by `train_phase.ts`, which imports this file). */
export interface PhaseLoss {
  /** Forward + loss of a batch. */
  fn(batch: SampleBatch, ctx: ForwardContext): LossResult;
  /** State saved with checkpoints. */
  state?: ResumableState;
}

/** `joint.*` of the detection recipes. */
export interface JointSection {
  [key: string]: string | number;
  /** Weight W of the classification loss; 0 turns joint training off. */
  weight: number;
  /** Classification dataset: a registered dataset name, or an image folder. */
  dataset: string;
  /** Classification images per step. */
  batchSize: number;
  /** Side of the classification images. */
  inputSize: number;
}

/** Defaults: off; the built-in shapes when turned on. */
export const JOINT_DEFAULTS: JointSection = {
  weight: 0,
  dataset: "synthetic-classes",
  batchSize: 8,
  inputSize: 64,
};

/** Meaning of the `joint.*` keys. */
export const JOINT_HELP: Readonly<Record<string, string>> = {
  weight:
    "joint training (paper section 5): weight W of a classification loss added to every detection step, L = L_det + W*L_cls on the shared backbone; 0 = off",
  dataset:
    "classification dataset: a registered dataset (synthetic-classes, synthetic-objects, ...) or an image folder (root/train/<class>/*.jpg, read by image-folder)",
  batchSize: "classification images per step",
  inputSize: "side of the classification images",
};

/** A detection batch that carries the step's classification batch. */
export interface JointBatch extends SampleBatch {
  /** The classification images and labels of the same step. */
  joint: SampleBatch;
}

/** What the training phase runs: wrapped or, with W = 0, its own parts. */
export interface JointPhase {
  /** Module whose variables are trained and checkpointed. */
  model: Module;
  /** Batches. */
  data: BatchSource<SampleBatch>;
  /** Loss. */
  loss: PhaseLoss;
  /** Frees what joint training added (the classification head). */
  dispose(): void;
}

/** The detector's modules under their own names, plus `joint_head`. */
class JointModel extends Module {
  constructor(detector: TaskModel, head: Module) {
    super();
    this.child("backbone", detector.backbone);
    this.child("head", detector.head);
    this.child("joint_head", head);
  }
}

/** `L_det + W · L_cls`, with `joint_cls` (unweighted) among the components. */
export function jointLoss(
  det: LossResult,
  cls: tf.Scalar,
  weight: number,
): LossResult {
  return {
    total: tf.add(det.total, tf.mul(cls, weight)) as tf.Scalar,
    components: { ...det.components, joint_cls: cls },
  };
}

function isFolder(name: string): boolean {
  return name.includes("/") || name.startsWith(".");
}

/** The classification training split `j.dataset` names, from the registry. */
async function jointDataset(
  registry: Registry,
  j: JointSection,
  seed: number,
): Promise<Dataset> {
  const name = isFolder(j.dataset) ? "image-folder" : j.dataset;
  if (!registry.has("dataset", name)) {
    throw new Error(
      isFolder(j.dataset)
        ? `joint.dataset: ${j.dataset} is a folder, which needs the image-folder dataset plugin`
        : `joint.dataset: unknown dataset "${j.dataset}"; registered: ${
          registry.list("dataset").join(", ")
        }`,
    );
  }
  const declared = registry.get("dataset", name).defaults;
  const wanted: Record<string, string | number> = {
    seed,
    root: j.dataset,
    inputSize: j.inputSize,
    imageSize: j.inputSize,
  };
  const config: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(wanted)) if (k in declared) config[k] = v;
  const splits = await registry.create("dataset", name, config);
  if (splits.train.size === 0) {
    throw new Error(`joint.dataset: ${j.dataset} has no training images`);
  }
  return splits.train;
}

/**
 * Wraps one training phase for joint training when `j.weight > 0`;
 * otherwise returns `model`, `data` and `loss` unchanged.
 */
export async function jointPhase(
  registry: Registry,
  j: JointSection | undefined,
  inputs: {
    model: TaskModel;
    data: BatchSource<SampleBatch>;
    loss: PhaseLoss;
    seed: number;
    events?: EventBus;
    phase: string;
  },
): Promise<JointPhase> {
  const { model, data, loss } = inputs;
  if (!j || j.weight === 0) {
    return { model, data, loss, dispose: () => {} };
  }
  if (!(j.weight > 0) || !(j.batchSize >= 1)) {
    throw new Error(
      `joint.weight must be >= 0 and joint.batchSize >= 1, got ${j.weight} and ${j.batchSize}`,
    );
  }
  const dataset = await jointDataset(registry, j, inputs.seed);
  const head = withInitSeed(
    seedFor(inputs.seed, 0x101e7),
    () =>
      registry.create("head", "classification", {}, {
        channels: model.backbone.outputChannels,
        numClasses: dataset.classNames.length,
        inputSize: [j.inputSize, j.inputSize],
      }),
  );
  const ce = registry.create("loss", "softmax-ce");
  const cls = new BatchLoader({
    plan: shuffledPlan(dataset, j.batchSize, seedFor(inputs.seed, 0x101e7)),
  });
  inputs.events?.emit({
    type: "log",
    message:
      `${inputs.phase}: joint training with ${j.dataset} (${dataset.classNames.length} classes, ${j.batchSize} images per step), weight ${j.weight}`,
  });
  const joint: BatchSource<JointBatch> = {
    async batchAt(step) {
      const [d, c] = await Promise.all([data.batchAt(step), cls.batchAt(step)]);
      return { ...d, joint: c };
    },
    sizeOf: (b) => data.sizeOf(b),
    dispose(b) {
      data.dispose(b);
      cls.dispose(b.joint);
    },
  };
  return {
    model: new JointModel(model, head),
    data: joint as BatchSource<SampleBatch>,
    loss: {
      fn(batch: SampleBatch, ctx: ForwardContext): LossResult {
        const b = batch as JointBatch;
        const det = loss.fn(b, ctx);
        // The classification crops must not pull the detector's moving
        // batch-norm statistics, which evaluation uses, towards their own.
        const cctx = { ...ctx, keepStatistics: true };
        const out = head.apply(
          model.backbone.apply(b.joint.images, cctx),
          cctx,
        );
        const targets = head.encodeTargets(b.joint.samples);
        return jointLoss(det, ce.compute(out, targets).total, j.weight);
      },
      state: loss.state,
    },
    dispose: () => head.dispose(),
  };
}
