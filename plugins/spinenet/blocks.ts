/**
 * ResNet-style blocks used by SpineNet (Model Garden `nn_blocks`
 * `ResidualBlock` / `BottleneckBlock`), with drop-connect on the residual
 * branch and the last BN of the branch zero-initialised (as the TPU
 * reference) so every block starts as the identity.
 */
import * as tf from "@tensorflow/tfjs-core";
import { type ForwardContext, Module } from "../../core/nn/module.ts";
import { activate } from "../layers/activations.ts";
import { dropConnect, inferenceIfFrozen } from "../layers/ops.ts";
import { ConvBn, convBnParams, type NormActConfig } from "../layers/conv_bn.ts";
import type { SpineBlockFn } from "./specs.ts";

/** Shape of a block group: `repeats` blocks of one type at one width. */
export interface BlockGroupPlan {
  /** Residual or bottleneck. */
  readonly blockFn: SpineBlockFn;
  /** Channels entering the group. */
  readonly inChannels: number;
  /** Block filters (bottleneck output is 4× this). */
  readonly filters: number;
  /** Number of blocks. */
  readonly repeats: number;
  /** Drop-connect rate of each block's residual branch. */
  readonly dropRate: number;
}

/** Output channels of a block type at `filters`. */
export function blockOutChannels(
  blockFn: SpineBlockFn,
  filters: number,
): number {
  return blockFn === "bottleneck" ? 4 * filters : filters;
}

/**
 * One residual (two 3×3) or bottleneck (1×1, 3×3, 1×1 ×4) block with an
 * optional 1×1 projection shortcut.
 */
export class SpineBlock extends Module {
  readonly #layers: ConvBn[];
  readonly #shortcut?: ConvBn;
  readonly #norm: NormActConfig;
  readonly #dropRate: number;

  /** Builds a block of `blockFn` from `inChannels` at `filters`. */
  constructor(
    blockFn: SpineBlockFn,
    inChannels: number,
    filters: number,
    dropRate: number,
    norm: NormActConfig,
  ) {
    super();
    const out = blockOutChannels(blockFn, filters);
    if (inChannels !== out) {
      this.#shortcut = this.child(
        "shortcut",
        new ConvBn(inChannels, out, { kernel: 1, act: false }, norm),
      );
    }
    const shapes = blockFn === "bottleneck"
      ? [[1, inChannels, filters], [3, filters, filters], [1, filters, out]]
      : [[3, inChannels, filters], [3, filters, filters]];
    this.#layers = shapes.map(([k, i, o], n) =>
      this.child(
        `conv${n + 1}`,
        new ConvBn(i, o, {
          kernel: k,
          act: n < shapes.length - 1,
          gammaInit: n === shapes.length - 1 ? 0 : 1,
        }, norm),
      )
    );
    this.#norm = norm;
    this.#dropRate = dropRate;
  }

  /** Applies the block. */
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    const shortcut = this.#shortcut ? this.#shortcut.apply(x, ctx) : x;
    let y = x;
    for (const layer of this.#layers) y = layer.apply(y, ctx);
    y = dropConnect(y, this.#dropRate, inferenceIfFrozen(this, ctx));
    return activate(tf.add(y, shortcut), this.#norm.activation) as tf.Tensor4D;
  }
}

/** Trainable scalars of one block (same layers as `SpineBlock`). */
export function blockParams(
  blockFn: SpineBlockFn,
  inChannels: number,
  filters: number,
): number {
  const out = blockOutChannels(blockFn, filters);
  const shortcut = inChannels !== out ? convBnParams(1, inChannels, out) : 0;
  const branch = blockFn === "bottleneck"
    ? convBnParams(1, inChannels, filters) +
      convBnParams(3, filters, filters) + convBnParams(1, filters, out)
    : convBnParams(3, inChannels, filters) + convBnParams(3, filters, filters);
  return shortcut + branch;
}

/** `repeats` blocks; only the first may project the shortcut. */
export class BlockGroup extends Module {
  /** Channels the group outputs. */
  readonly outChannels: number;
  readonly #blocks: SpineBlock[] = [];

  /** Builds the group from its plan. */
  constructor(plan: BlockGroupPlan, norm: NormActConfig) {
    super();
    this.outChannels = blockOutChannels(plan.blockFn, plan.filters);
    let inCh = plan.inChannels;
    for (let i = 0; i < plan.repeats; i++) {
      this.#blocks.push(this.child(
        `block${i}`,
        new SpineBlock(plan.blockFn, inCh, plan.filters, plan.dropRate, norm),
      ));
      inCh = this.outChannels;
    }
  }

  /** Applies the blocks in order. */
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    let y = x;
    for (const b of this.#blocks) y = b.apply(y, ctx);
    return y;
  }
}

/** Trainable scalars of a block group. */
export function blockGroupParams(plan: BlockGroupPlan): number {
  const out = blockOutChannels(plan.blockFn, plan.filters);
  let n = blockParams(plan.blockFn, plan.inChannels, plan.filters);
  for (let i = 1; i < plan.repeats; i++) {
    n += blockParams(plan.blockFn, out, plan.filters);
  }
  return n;
}
