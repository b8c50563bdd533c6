/**
 * EfficientNet backbone: 3×3/2 stem then seven MBConv stages scaled by the
 * variant's width / depth coefficients. Outputs levels 1–5 (C1–C5, strides
 * 2–32, the last block of each resolution). The 1×1 "top" conv belongs to the
 * classifier (`classifier.ts`), so detection does not carry it.
 *
 * Inputs are images already normalised by the caller (Keras's built-in
 * rescaling / normalisation layers are not part of the module).
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { Backbone, FeaturePyramid } from "../../core/contracts.ts";
import { type ForwardContext, Module } from "../../core/nn/module.ts";
import { ConvBn, convBnParams, type NormActConfig } from "../layers/conv_bn.ts";
import { MBConvBlock, mbconvParams, type MBConvPlan } from "./blocks.ts";
import {
  EFFICIENTNET_B0_STAGES,
  efficientNetScaling,
  roundFilters,
  roundRepeats,
} from "./specs.ts";

/**
 * Configuration of an EfficientNet backbone (the plugin's config keys);
 * batch norm and activation are the model's shared settings.
 */
export interface EfficientNetConfig {
  /** `b0` … `b7`. */
  variant: string;
  /** Final drop-connect rate; block `i` of `n` uses `rate · i / n`. */
  dropConnect: number;
  /** Squeeze-excitation ratio of the block input channels (0 disables SE). */
  seRatio: number;
  /**
   * 32 (the classifier's), 16 or 8: stages that would go below this stride
   * run at stride 1 with doubled dilation instead (DeepLab's atrous
   * backbone); their output is then the deepest level.
   */
  outputStride: number;
  /**
   * `same` (TensorFlow's, the reference) or `symmetric` (PyTorch's: strided
   * convs pad `(k−1)/2` on every side), which torchvision's weights need.
   */
  padding: string;
  /** Width coefficient; 0 = the variant's (Keras / torchvision `width_mult`). */
  widthScale: number;
  /** Depth coefficient; 0 = the variant's (`depth_mult`). */
  depthScale: number;
}

/** EfficientNet-B0 with the reference defaults. */
export const EFFICIENTNET_DEFAULTS: Readonly<EfficientNetConfig> = {
  variant: "b0",
  dropConnect: 0.2,
  seRatio: 0.25,
  outputStride: 32,
  padding: "same",
  widthScale: 0,
  depthScale: 0,
};

/** Meaning of each config key, for `--help`. */
export const EFFICIENTNET_HELP: Readonly<
  Record<keyof EfficientNetConfig, string>
> = {
  variant: "b0 ... b7 (width, depth and resolution scaling)",
  dropConnect: "final drop-connect rate (block i of n uses rate * i / n)",
  seRatio: "squeeze-excitation ratio of the block input channels (0 = off)",
  outputStride:
    "32, or 16 / 8: later stages run at stride 1 with dilation instead",
  padding:
    "same (TensorFlow's) or symmetric (PyTorch's, for torchvision weights)",
  widthScale: "width coefficient (0 = the variant's)",
  depthScale: "depth coefficient (0 = the variant's)",
};

/** The reference norm settings: swish, momentum 0.99, epsilon 1e-3. */
export const EFFICIENTNET_NORM: Readonly<NormActConfig> = {
  activation: "swish",
  bnMomentum: 0.99,
  bnEpsilon: 1e-3,
};

/** An output level: the last block of a resolution. */
export interface EfficientNetEndpoint {
  /** Pyramid level (stride `2**level`). */
  readonly level: number;
  /** Index into `blocks` of the block whose output it is. */
  readonly block: number;
  /** Channels. */
  readonly channels: number;
}

/** The scaled network as plain data. */
export interface EfficientNetPlan {
  /** Stem conv channels. */
  readonly stemFilters: number;
  /** Every MBConv block in order. */
  readonly blocks: readonly MBConvPlan[];
  /** Levels 1–5. */
  readonly endpoints: readonly EfficientNetEndpoint[];
  /** Channels of the classifier's 1×1 top conv. */
  readonly topFilters: number;
  /** Norm / activation settings. */
  readonly norm: NormActConfig;
  /** PyTorch-style padding of the strided convs (`padding: symmetric`). */
  readonly symmetricPadding: boolean;
}

/** Checks a config and derives every block of the scaled network. */
export function planEfficientNet(
  config: Readonly<EfficientNetConfig>,
  norm: Readonly<NormActConfig> = EFFICIENTNET_NORM,
): EfficientNetPlan {
  const where = "plugins/efficientnet";
  const scaling = efficientNetScaling(config.variant);
  for (const k of ["widthScale", "depthScale"] as const) {
    if (!(config[k] >= 0 && Number.isFinite(config[k]))) {
      throw new Error(`${where}: ${k} must be >= 0, got ${config[k]}`);
    }
  }
  // Custom coefficients make a scaled variant beside B0-B7 (small fixtures).
  const width = config.widthScale || scaling.width;
  const depth = config.depthScale || scaling.depth;
  if (norm.activation !== "swish" && norm.activation !== "relu") {
    throw new Error(
      `${where}: activation must be swish or relu, got "${norm.activation}"`,
    );
  }
  if (!(config.dropConnect >= 0 && config.dropConnect < 1)) {
    throw new Error(
      `${where}: dropConnect must be in [0, 1), got ${config.dropConnect}`,
    );
  }
  if (!(config.seRatio >= 0 && config.seRatio <= 1)) {
    throw new Error(
      `${where}: seRatio must be in [0, 1], got ${config.seRatio}`,
    );
  }
  const total = EFFICIENTNET_B0_STAGES.reduce(
    (n, s) => n + roundRepeats(s.repeats, depth),
    0,
  );
  if (config.padding !== "same" && config.padding !== "symmetric") {
    throw new Error(
      `${where}: padding must be same or symmetric, got "${config.padding}"`,
    );
  }
  const symmetric = config.padding === "symmetric";
  if (![8, 16, 32].includes(config.outputStride)) {
    throw new Error(
      `${where}: outputStride must be 8, 16 or 32, got ${config.outputStride}`,
    );
  }
  // Stride and dilation of each stage: past the output stride, stride 2
  // becomes dilation x2.
  let reached = 2, rate = 1;
  const stages = EFFICIENTNET_B0_STAGES.map((s) => {
    if (s.stride === 2 && reached * 2 > config.outputStride) rate *= 2;
    else if (s.stride === 2) reached *= 2;
    return { stride: rate > 1 ? 1 : s.stride, dilation: rate };
  });
  const blocks: MBConvPlan[] = [];
  const endpoints: EfficientNetEndpoint[] = [];
  let level = 1; // after the stride-2 stem
  EFFICIENTNET_B0_STAGES.forEach((s, i) => {
    const out = roundFilters(s.outFilters, width);
    let inCh = roundFilters(s.inFilters, width);
    for (let r = 0; r < roundRepeats(s.repeats, depth); r++) {
      blocks.push({
        kernel: s.kernel,
        stride: r === 0 ? stages[i].stride : 1,
        ...(stages[i].dilation > 1 ? { dilation: stages[i].dilation } : {}),
        inChannels: inCh,
        outChannels: out,
        expandRatio: s.expandRatio,
        // SE width follows the block input, not the expanded width.
        seChannels: config.seRatio > 0
          ? Math.max(1, Math.trunc(inCh * config.seRatio))
          : 0,
        dropRate: config.dropConnect * blocks.length / total,
        ...(symmetric ? { symmetricPadding: true } : {}),
      });
      inCh = out;
    }
    if (stages[i].stride === 2) level++;
    const next = stages[i + 1];
    if (!next || next.stride === 2) {
      endpoints.push({ level, block: blocks.length - 1, channels: out });
    }
  });
  return {
    stemFilters: roundFilters(32, width),
    blocks,
    endpoints,
    topFilters: roundFilters(1280, width),
    symmetricPadding: symmetric,
    norm: { ...norm },
  };
}

/** Trainable scalars of the backbone (stem + blocks), without building it. */
export function efficientNetBackboneParams(plan: EfficientNetPlan): number {
  return plan.blocks.reduce(
    (n, b) => n + mbconvParams(b),
    convBnParams(3, 3, plan.stemFilters),
  );
}

/** The EfficientNet feature extractor; outputs C1–C5. */
export class EfficientNet extends Module implements Backbone {
  /** Channels of levels 1–5. */
  readonly outputChannels: Readonly<Record<number, number>>;
  /** The scaled topology. */
  readonly plan: EfficientNetPlan;
  readonly #stem: ConvBn;
  readonly #blocks: MBConvBlock[];

  /** Builds the network (weights drawn under the current `withInitSeed`). */
  constructor(
    config: Readonly<EfficientNetConfig> = EFFICIENTNET_DEFAULTS,
    norm: Readonly<NormActConfig> = EFFICIENTNET_NORM,
  ) {
    super();
    const plan = planEfficientNet(config, norm);
    this.plan = plan;
    this.#stem = this.child(
      "stem",
      new ConvBn(3, plan.stemFilters, {
        kernel: 3,
        stride: 2,
        symmetricPadding: plan.symmetricPadding,
      }, plan.norm),
    );
    this.#blocks = plan.blocks.map((b, i) =>
      this.child(`block${i}`, new MBConvBlock(b, plan.norm))
    );
    this.outputChannels = Object.fromEntries(
      plan.endpoints.map((e) => [e.level, e.channels]),
    );
  }

  /** Runs the network on `[N, H, W, 3]` images; returns levels 1–5. */
  apply(images: tf.Tensor4D, ctx: ForwardContext): FeaturePyramid {
    if (images.rank !== 4 || images.shape[3] !== 3) {
      throw new Error(
        `plugins/efficientnet: expected images [N, H, W, 3], got [${images.shape}]`,
      );
    }
    let x = this.#stem.apply(images, ctx);
    const out: FeaturePyramid = {};
    let e = 0;
    this.#blocks.forEach((b, i) => {
      x = b.apply(x, ctx);
      const ep = this.plan.endpoints[e];
      if (ep && ep.block === i) {
        out[ep.level] = x;
        e++;
      }
    });
    return out;
  }
}
