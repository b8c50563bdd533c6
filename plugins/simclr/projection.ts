/**
 * SimCLR's projection head g(·): an MLP from the backbone's pooled
 * features h to the space z where NT-Xent is applied. Hidden layers are
 * dense → batch norm → ReLU; the last layer is dense → batch norm (SimCLR
 * v1/v2 code: BN on every layer, no ReLU after the last). Two layers is v1,
 * three is v2. The head is dropped after pre-training.
 */
import * as tf from "@tensorflow/tfjs-core";
import { BatchNorm, Dense } from "../../core/nn/layers.ts";
import { type ForwardContext, Module } from "../../core/nn/module.ts";

/** Shape of a projection head. */
export interface ProjectionOptions {
  /** Width of h (the input). */
  inFeatures: number;
  /** Width of the hidden layers. */
  hidden: number;
  /** Width of z (128 in SimCLR). */
  outFeatures: number;
  /** Dense layers (2 in v1, 3 in v2). */
  layers: number;
  /** Batch-norm momentum. */
  bnMomentum: number;
}

class DenseBn extends Module {
  readonly dense: Dense;
  readonly bn: BatchNorm;
  constructor(cin: number, cout: number, momentum: number) {
    super();
    this.dense = this.child("dense", new Dense(cin, cout));
    this.bn = this.child("bn", new BatchNorm(cout, { momentum }));
  }
  apply(x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    return this.bn.apply(this.dense.apply(x), ctx);
  }
}

/** The projection MLP. */
export class ProjectionHead extends Module {
  readonly #layers: DenseBn[] = [];

  /** Builds `layers` dense layers. */
  constructor(o: ProjectionOptions) {
    super();
    if (!(o.layers >= 1)) {
      throw new Error(`projection head: layers must be >= 1, got ${o.layers}`);
    }
    let cin = o.inFeatures;
    for (let i = 0; i < o.layers; i++) {
      const cout = i === o.layers - 1 ? o.outFeatures : o.hidden;
      this.#layers.push(
        this.child(`layer${i + 1}`, new DenseBn(cin, cout, o.bnMomentum)),
      );
      cin = cout;
    }
  }

  /** z for features h `[N, inFeatures]`. */
  apply(h: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    let x = h;
    this.#layers.forEach((layer, i) => {
      x = layer.apply(x, ctx);
      if (i < this.#layers.length - 1) x = tf.relu(x) as tf.Tensor2D;
    });
    return x;
  }
}
