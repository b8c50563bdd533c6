/**
 * The SimCLR training model: backbone f, pooled features h = pool(f(x)),
 * projection z = g(h), NT-Xent on z. A batch holds 2N images: the first
 * view of N images, then their second views in the same order
 * (`twoViewPlan`), so rows i and i + N are the positive pairs. Batch norm
 * sees all 2N views together, as SimCLR's global batch norm does.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { Backbone, LossResult } from "../../core/contracts.ts";
import type { BatchPlan, SampleBatch } from "../../core/data/loader.ts";
import { type ForwardContext, Module } from "../../core/nn/module.ts";
import { seedFor } from "../../core/rng.ts";
import {
  pooledLevels,
  pooledWidth,
  poolFeatures,
  type PoolMode,
} from "../classifier/head.ts";
import { ntXentAccuracy, ntXentLoss } from "./nt_xent.ts";
import { ProjectionHead } from "./projection.ts";

/** Settings of the contrastive model. */
export interface SimClrOptions {
  /** Pooled levels of the backbone. */
  pool: PoolMode;
  /** Projection hidden width (0: the width of h). */
  hidden: number;
  /** Width of z. */
  outFeatures: number;
  /** Projection layers (2: v1, 3: v2). */
  layers: number;
  /** NT-Xent temperature τ. */
  temperature: number;
  /** Batch-norm momentum of the projection. */
  bnMomentum: number;
}

/** Backbone + projection head, trained with NT-Xent. */
export class SimClrModel extends Module {
  /** The backbone being pre-trained (kept). */
  readonly backbone: Backbone;
  /** The projection head g (dropped after pre-training). */
  readonly projection: ProjectionHead;
  /** Levels pooled into h. */
  readonly levels: readonly number[];
  readonly #temperature: number;

  /** Composes the parts (the model owns their variables). */
  constructor(backbone: Backbone, o: SimClrOptions) {
    super();
    this.backbone = this.child("backbone", backbone);
    this.levels = pooledLevels(backbone.outputChannels, o.pool);
    const width = pooledWidth(backbone.outputChannels, o.pool);
    this.projection = this.child(
      "projection",
      new ProjectionHead({
        inFeatures: width,
        hidden: o.hidden > 0 ? o.hidden : width,
        outFeatures: o.outFeatures,
        layers: o.layers,
        bnMomentum: o.bnMomentum,
      }),
    );
    this.#temperature = o.temperature;
  }

  /** h: pooled backbone features `[N, width]`. */
  features(images: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D {
    return poolFeatures(this.backbone.apply(images, ctx), this.levels);
  }

  /** NT-Xent of a two-view batch. */
  loss(batch: SampleBatch, ctx: ForwardContext): LossResult {
    const z = this.projection.apply(this.features(batch.images, ctx), ctx);
    const ntXent = ntXentLoss(z, this.#temperature);
    // Logged: how often a view's nearest neighbour is its partner.
    return {
      total: ntXent,
      components: { ntXent, pairAcc: ntXentAccuracy(z) },
    };
  }
}

/**
 * Two views per image: the refs of `plan`'s batch, then the same refs
 * again, each view with its own augmentation seed derived from the ref's.
 */
export function twoViewPlan(plan: BatchPlan): BatchPlan {
  return (step) => {
    const refs = plan(step);
    return [
      ...refs.map((r) => ({ ...r, seed: seedFor(r.seed, 1) })),
      ...refs.map((r) => ({ ...r, seed: seedFor(r.seed, 2) })),
    ];
  };
}
