/**
 * Feature Pyramid Network decoder (Lin et al. 2017; Model Garden
 * `decoders/fpn.py`): 1×1 laterals on the backbone levels, top-down nearest
 * upsampling and sum, 3×3 post-hoc convs, extra coarser levels by stride-2
 * 3×3 convs (activation before all but the first), then BN on every level.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { FeaturePyramid } from "../../core/contracts.ts";
import { type ForwardContext, Module } from "../../core/nn/module.ts";
import { BatchNorm, Conv2d } from "../../core/nn/layers.ts";
import { activate } from "../layers/activations.ts";
import { bnParams, convParams, type NormActConfig } from "../layers/conv_bn.ts";
import { applyConv, cropTo, nearestUpsample } from "../layers/ops.ts";

/** Options of `FPN`. */
export interface FpnOptions {
  /** Channels of the backbone levels fed to the FPN (e.g. C3–C5). */
  readonly inputChannels: Readonly<Record<number, number>>;
  /** Lowest output level (default 3). */
  readonly minLevel?: number;
  /** Highest output level (default 7). */
  readonly maxLevel?: number;
  /** Channels of every output level (default 256). */
  readonly filters?: number;
}

interface FpnLevels {
  minLevel: number;
  maxLevel: number;
  backboneMax: number;
  filters: number;
}

function fpnLevels(opts: FpnOptions): FpnLevels {
  const minLevel = opts.minLevel ?? 3;
  const maxLevel = opts.maxLevel ?? 7;
  const filters = opts.filters ?? 256;
  const levels = Object.keys(opts.inputChannels).map(Number);
  const backboneMax = Math.min(Math.max(...levels), maxLevel);
  for (let l = minLevel; l <= backboneMax; l++) {
    if (!(l in opts.inputChannels)) {
      throw new Error(
        `plugins/efficientnet/fpn.ts: backbone has no level ${l} (has ${levels})`,
      );
    }
  }
  if (!(Number.isInteger(filters) && filters >= 1) || minLevel > maxLevel) {
    throw new Error(
      `plugins/efficientnet/fpn.ts: bad filters ${filters} or levels ${minLevel}..${maxLevel}`,
    );
  }
  return { minLevel, maxLevel, backboneMax, filters };
}

/** The FPN decoder. */
export class FPN extends Module {
  /** Channels of each output level. */
  readonly outputChannels: Readonly<Record<number, number>>;
  readonly #lv: FpnLevels;
  readonly #lateral = new Map<number, Conv2d>();
  readonly #posthoc = new Map<number, Conv2d>();
  readonly #coarser = new Map<number, Conv2d>();
  readonly #norms = new Map<number, BatchNorm>();
  readonly #norm: NormActConfig;

  /** Builds the decoder for the given backbone levels. */
  constructor(opts: FpnOptions, norm: NormActConfig) {
    super();
    const lv = fpnLevels(opts);
    const f = lv.filters;
    for (let l = lv.minLevel; l <= lv.backboneMax; l++) {
      const inCh = opts.inputChannels[l];
      this.#lateral.set(
        l,
        this.child(
          `lateral${l}`,
          new Conv2d(inCh, f, { kernel: 1, bias: true }),
        ),
      );
    }
    for (let l = lv.minLevel; l <= lv.backboneMax; l++) {
      this.#posthoc.set(
        l,
        this.child(`post_hoc${l}`, new Conv2d(f, f, { kernel: 3, bias: true })),
      );
    }
    for (let l = lv.backboneMax + 1; l <= lv.maxLevel; l++) {
      this.#coarser.set(
        l,
        this.child(
          `coarser${l}`,
          new Conv2d(f, f, { kernel: 3, stride: 2, bias: true }),
        ),
      );
    }
    for (let l = lv.minLevel; l <= lv.maxLevel; l++) {
      this.#norms.set(
        l,
        this.child(
          `norm${l}`,
          new BatchNorm(f, {
            momentum: norm.bnMomentum,
            epsilon: norm.bnEpsilon,
          }),
        ),
      );
    }
    this.#lv = lv;
    this.#norm = norm;
    const out: Record<number, number> = {};
    for (let l = lv.minLevel; l <= lv.maxLevel; l++) out[l] = f;
    this.outputChannels = out;
  }

  /** Fuses backbone features into levels `minLevel..maxLevel`. */
  apply(features: FeaturePyramid, ctx: ForwardContext): FeaturePyramid {
    const { minLevel, maxLevel, backboneMax } = this.#lv;
    const feats: FeaturePyramid = {};
    feats[backboneMax] = applyConv(
      this.#lateral.get(backboneMax)!,
      features[backboneMax],
    );
    for (let l = backboneMax - 1; l >= minLevel; l--) {
      const lat = applyConv(this.#lateral.get(l)!, features[l]);
      const up = cropTo(
        nearestUpsample(feats[l + 1], 2),
        lat.shape[1],
        lat.shape[2],
      );
      feats[l] = tf.add(up, lat);
    }
    for (let l = minLevel; l <= backboneMax; l++) {
      feats[l] = this.#posthoc.get(l)!.apply(feats[l]);
    }
    for (let l = backboneMax + 1; l <= maxLevel; l++) {
      const prev = l > backboneMax + 1
        ? activate(feats[l - 1], this.#norm.activation) as tf.Tensor4D
        : feats[l - 1];
      feats[l] = this.#coarser.get(l)!.apply(prev);
    }
    const out: FeaturePyramid = {};
    for (let l = minLevel; l <= maxLevel; l++) {
      out[l] = this.#norms.get(l)!.apply(feats[l], ctx);
    }
    return out;
  }
}

/** Trainable scalars of an `FPN`, without building it. */
export function fpnParams(opts: FpnOptions): number {
  const { minLevel, maxLevel, backboneMax, filters: f } = fpnLevels(opts);
  let n = 0;
  for (let l = minLevel; l <= backboneMax; l++) {
    n += convParams(1, opts.inputChannels[l], f, true) +
      convParams(3, f, f, true);
  }
  n += (maxLevel - backboneMax) * convParams(3, f, f, true);
  return n + (maxLevel - minLevel + 1) * bnParams(f);
}
