/**
 * The student's loss: one forward pass over a mixed batch (human samples
 * first, then pseudo), the task loss computed on each half, combined with
 * the moving-average normalisation of SPEC §2.
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  LossNormalizer,
  type LossNormalizerConfig,
} from "../selftrain/normalizer.ts";
import { sliceTree } from "../selftrain/tensor_tree.ts";
import type { TaskModel } from "../core/model.ts";
import type { Loss, TensorTree } from "../core/contracts.ts";
import type { PhaseLoss } from "./train_phase.ts";

/** The task losses of each half; separate instances may keep separate state. */
export interface HalfLosses {
  /** Loss of the human-labelled half. */
  human: Loss<TensorTree, TensorTree>;
  /** Loss of the pseudo-labelled half. */
  pseudo: Loss<TensorTree, TensorTree>;
}

/**
 * Rewrites the pseudo half's encoded targets from its images, e.g. adds a
 * teacher's per-anchor probabilities as soft targets.
 */
export type PseudoTargetHook = (
  images: tf.Tensor4D,
  targets: TensorTree,
) => TensorTree;

/**
 * Builds the mixed-batch loss for `model` with `human` human images per
 * batch (each half's task loss from `losses`, default the model's own;
 * `pseudoTargets` rewrites the pseudo half's targets).
 */
export function studentLoss(
  model: TaskModel,
  human: number,
  normalizer: Partial<LossNormalizerConfig>,
  losses: HalfLosses = { human: model.lossFn, pseudo: model.lossFn },
  pseudoTargets?: PseudoTargetHook,
): PhaseLoss {
  const norm = new LossNormalizer(normalizer);
  return {
    fn(batch, ctx) {
      const n = batch.samples.length;
      const out = model.forward(batch.images, ctx);
      const targets = model.head.encodeTargets(batch.samples);
      const h = losses.human.compute(
        sliceTree(out, 0, human),
        sliceTree(targets, 0, human),
      );
      let pseudoHalf = sliceTree(targets, human, n - human);
      if (pseudoTargets) {
        const images = tf.slice(batch.images, [human, 0, 0, 0]);
        pseudoHalf = pseudoTargets(images, pseudoHalf);
      }
      const p = losses.pseudo.compute(
        sliceTree(out, human, n - human),
        pseudoHalf,
      );
      const components: Record<string, typeof h.total> = {};
      for (const [k, v] of Object.entries(h.components)) {
        components[`human_${k}`] = v;
      }
      for (const [k, v] of Object.entries(p.components)) {
        components[`pseudo_${k}`] = v;
      }
      return { total: norm.combine(h.total, p.total), components };
    },
    // Every moving average the loss uses is checkpointed: the normaliser's
    // loss averages and each half's positive-anchor average.
    state: {
      save: async () => ({
        norm: await norm.save(),
        human: await losses.human.state?.save() ?? null,
        pseudo: await losses.pseudo.state?.save() ?? null,
      }),
      load: (snapshot) => {
        const s = snapshot as {
          norm: unknown;
          human: unknown;
          pseudo: unknown;
        };
        norm.load(s.norm);
        losses.human.state?.load(s.human);
        losses.pseudo.state?.load(s.pseudo);
      },
    },
  };
}
