/**
 * SpineNet backbone (Du et al. 2020): a stem, two L2 bottleneck groups and
 * a NAS-found permutation of blocks across levels 2–7 joined by resampling
 * connections, with 1×1 conv + BN + act endpoints P3–P7.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Backbone, FeaturePyramid } from "../../core/contracts.ts";
import type { ForwardContext } from "../../core/nn/module.ts";
import { Module } from "../../core/nn/module.ts";
import { activate } from "../layers/activations.ts";
import type { Activation } from "../../core/contracts.ts";
import {
  ConvBn,
  DEFAULT_NORM_ACT,
  type NormActConfig,
} from "../layers/conv_bn.ts";
import { levelSize, maxPool3x3s2 } from "../layers/ops.ts";
import { BlockGroup, blockOutChannels } from "./blocks.ts";
import { planParams, planSpineNet, type SpineNetPlan } from "./plan.ts";
import { Resample } from "./resample.ts";
import { spineNetScaling } from "./specs.ts";

/**
 * Configuration of a SpineNet backbone (the plugin's config keys); batch
 * norm and activation are the model's shared settings.
 */
export interface SpineNetConfig {
  /** `49S`, `49`, `96`, `143`, `190`, or the CPU presets `49XS`, `tiny`. */
  variant: string;
  /** Initial drop-connect rate, scaled linearly with block index. */
  dropConnect: number;
  /** Endpoint channels; 0 keeps the variant's value. */
  endpointFilters: number;
}

/** SpineNet-49 with Model Garden defaults. */
export const SPINENET_DEFAULTS: Readonly<SpineNetConfig> = {
  variant: "49",
  dropConnect: 0,
  endpointFilters: 0,
};

/** Meaning of each config key, for `--help`. */
export const SPINENET_HELP: Readonly<Record<keyof SpineNetConfig, string>> = {
  variant: "49S, 49, 96, 143, 190, or the CPU presets 49XS, tiny",
  dropConnect: "initial drop-connect rate, scaled linearly with block index",
  endpointFilters: "endpoint channels (0 keeps the variant's)",
};

/** Checks a config and resolves it into a plan. */
export function resolveSpineNet(
  config: Readonly<SpineNetConfig>,
): SpineNetPlan {
  const where = "plugins/spinenet";
  if (!(config.dropConnect >= 0 && config.dropConnect < 1)) {
    throw new Error(
      `${where}: dropConnect must be in [0, 1), got ${config.dropConnect}`,
    );
  }
  if (
    !(config.endpointFilters >= 0 && Number.isInteger(config.endpointFilters))
  ) {
    throw new Error(
      `${where}: endpointFilters must be a non-negative integer, got ${config.endpointFilters}`,
    );
  }
  const base = spineNetScaling(config.variant);
  const scaling = config.endpointFilters > 0
    ? { ...base, endpointFilters: config.endpointFilters }
    : base;
  return planSpineNet({ scaling, dropConnect: config.dropConnect });
}

/** Trainable parameters of a SpineNet config, counted without building it. */
export function countSpineNetParams(config: Readonly<SpineNetConfig>): number {
  return planParams(resolveSpineNet(config));
}

/** The SpineNet backbone; outputs levels 3–7. */
export class SpineNet extends Module implements Backbone {
  /** Endpoint channels per level. */
  readonly outputChannels: Readonly<Record<number, number>>;
  /** The topology this instance was built from. */
  readonly plan: SpineNetPlan;
  readonly #stemConv: ConvBn;
  readonly #stem: BlockGroup[];
  readonly #nodes: { resample: Resample[]; group: BlockGroup }[];
  readonly #endpoints: Map<number, ConvBn>;
  readonly #activation: Activation;

  readonly #stemLevel: boolean;

  /**
   * Builds the network (weights drawn under the current `withInitSeed`).
   * `stemLevel` also outputs the last L2 stem group as level 2 (stride 4),
   * the skip feature of a segmentation decoder.
   */
  constructor(
    config: Readonly<SpineNetConfig> = SPINENET_DEFAULTS,
    norm: Readonly<NormActConfig> = DEFAULT_NORM_ACT,
    stemLevel = false,
  ) {
    super();
    if (norm.activation !== "relu" && norm.activation !== "swish") {
      throw new Error(
        `plugins/spinenet: activation must be relu or swish, got "${norm.activation}"`,
      );
    }
    this.#stemLevel = stemLevel;
    const plan = resolveSpineNet(config);
    this.plan = plan;
    this.#activation = norm.activation;
    this.#stemConv = this.child(
      "stem_conv",
      new ConvBn(3, plan.stemFilters, { kernel: 7, stride: 2 }, norm),
    );
    this.#stem = plan.stem.map((g, i) =>
      this.child(`stem_block${i}`, new BlockGroup(g, norm))
    );
    this.#nodes = plan.nodes.map((node, i) => ({
      resample: node.parents.map((p, j) =>
        this.child(`block${i + 2}_resample${j}`, new Resample(p, norm))
      ),
      group: this.child(`block${i + 2}`, new BlockGroup(node.group, norm)),
    }));
    this.#endpoints = new Map(plan.endpoints.map((e) => [
      e.level,
      this.child(
        `endpoint${e.level}`,
        new ConvBn(e.inChannels, e.outChannels, { kernel: 1 }, norm),
      ),
    ]));
    const stemOut = plan.stem[plan.stem.length - 1];
    this.outputChannels = Object.fromEntries([
      ...(stemLevel
        ? [[2, blockOutChannels(stemOut.blockFn, stemOut.filters)]]
        : []),
      ...plan.endpoints.map((e) => [e.level, e.outChannels]),
    ]);
  }

  /** Runs the network on `[N, H, W, 3]` images; returns P3–P7. */
  apply(images: tf.Tensor4D, ctx: ForwardContext): FeaturePyramid {
    if (images.rank !== 4 || images.shape[3] !== 3) {
      throw new Error(
        `plugins/spinenet: expected images [N, H, W, 3], got [${images.shape}]`,
      );
    }
    const [, h, w] = images.shape;
    let x = maxPool3x3s2(this.#stemConv.apply(images, ctx));
    const feats: tf.Tensor4D[] = [];
    for (const g of this.#stem) {
      x = g.apply(x, ctx);
      feats.push(x);
    }
    this.plan.nodes.forEach((node, i) => {
      const target = [
        levelSize(h, node.level),
        levelSize(w, node.level),
      ] as const;
      const { resample, group } = this.#nodes[i];
      const parts = node.parents.map((p, j) =>
        resample[j].apply(feats[p.source], target, ctx)
      );
      for (const j of node.extraInputs) parts.push(feats[j]);
      const fused = activate(tf.addN(parts), this.#activation) as tf.Tensor4D;
      feats.push(group.apply(fused, ctx));
    });
    const out: FeaturePyramid = {};
    if (this.#stemLevel) out[2] = feats[this.#stem.length - 1];
    for (const e of this.plan.endpoints) {
      out[e.level] = this.#endpoints.get(e.level)!.apply(feats[e.source], ctx);
    }
    return out;
  }
}
