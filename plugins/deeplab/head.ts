/**
 * The DeepLabv3+ head (SPEC §7). ASPP on the backbone's output-stride
 * feature (level 4 at stride 16, level 3 at stride 8): a 1×1 conv, three
 * 3×3 atrous convs at rates 6/12/18 (doubled at stride 8) and image pooling,
 * concatenated and projected to `filters` channels. The decoder projects the
 * stride-4 feature (level 2) to 48 channels, concatenates the bilinearly
 * upsampled ASPP output, applies two 3×3 convs and a 1×1 classifier, and the
 * logits are upsampled bilinearly to the input size.
 *
 * Bilinear resizes use `alignCorners` (as DeepLab's reference does): tfjs'
 * gradient of a half-pixel-centre resize drops `halfPixelCenters` and would
 * be the gradient of another function.
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  DEFAULT_SHARED,
  type FeaturePyramid,
  type Head,
  type HeadInputs,
} from "../../core/contracts.ts";
import { Conv2d } from "../../core/nn/layers.ts";
import { type ForwardContext, Module } from "../../core/nn/module.ts";
import type { SpecOf } from "../../core/registry.ts";
import type { Prediction, Sample } from "../../core/types.ts";
import { ConvBn, type NormActConfig, normActFrom } from "../layers/conv_bn.ts";
import type { SegmentationOutputs, SegmentationTargets } from "./loss.ts";
import { encodeMasks, probsToPredictions } from "./predict.ts";

/**
 * Config of the `deeplabv3plus` head. Batch norm and activation are the
 * model's shared settings (`HeadInputs.shared`; activation `auto` = relu).
 */
export interface DeepLabConfig {
  /** 16 or 8: stride of the feature ASPP runs on (level 4 or 3). */
  outputStride: number;
  /** ASPP atrous rates at output stride 16 (doubled at 8). */
  rates: number[];
  /** Channels of ASPP and decoder (paper: 256). */
  filters: number;
  /** Channels of the stride-4 projection (paper: 48). */
  lowLevelFilters: number;
}

/** The paper's head: OS 16, rates 6/12/18, 256 channels, 48 low-level. */
export const DEEPLAB_DEFAULTS: Readonly<DeepLabConfig> = {
  outputStride: 16,
  rates: [6, 12, 18],
  filters: 256,
  lowLevelFilters: 48,
};

/** Checks `rates` and scales them to `outputStride` (16 → as given, 8 → ×2). */
export function asppRates(
  rates: readonly number[],
  outputStride: number,
): number[] {
  if (outputStride !== 16 && outputStride !== 8) {
    throw new Error(
      `deeplabv3plus: outputStride must be 16 or 8, got ${outputStride}`,
    );
  }
  if (rates.length === 0 || rates.some((r) => !Number.isInteger(r) || r < 1)) {
    throw new Error(
      `deeplabv3plus: rates must be positive integers like 6,12,18, got [${rates}]`,
    );
  }
  return rates.map((r) => (outputStride === 8 ? 2 * r : r));
}

/** Bilinear resize with aligned corners (exact gradient in tfjs). */
export function upsample(
  x: tf.Tensor4D,
  height: number,
  width: number,
): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (h === height && w === width) return x;
  return tf.image.resizeBilinear(x, [height, width], true);
}

/** Atrous spatial pyramid pooling. */
export class Aspp extends Module {
  /** Effective atrous rates of the 3×3 branches. */
  readonly rates: readonly number[];
  readonly #branches: ConvBn[];
  readonly #pool: ConvBn;
  readonly #project: ConvBn;

  /** `inChannels` → `filters`, 3×3 branches at `rates`. */
  constructor(
    inChannels: number,
    filters: number,
    rates: readonly number[],
    norm: NormActConfig,
  ) {
    super();
    this.rates = [...rates];
    this.#branches = [
      this.child(
        "conv1x1",
        new ConvBn(inChannels, filters, { kernel: 1 }, norm),
      ),
      ...rates.map((r) =>
        this.child(
          `atrous${r}`,
          new ConvBn(inChannels, filters, { kernel: 3, dilation: r }, norm),
        )
      ),
    ];
    this.#pool = this.child(
      "pool",
      new ConvBn(inChannels, filters, { kernel: 1 }, norm),
    );
    this.#project = this.child(
      "project",
      new ConvBn(filters * (rates.length + 2), filters, { kernel: 1 }, norm),
    );
  }

  /** ASPP of `x`, same spatial size, `filters` channels. */
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    const [, h, w] = x.shape;
    const parts = this.#branches.map((b) => b.apply(x, ctx));
    const pooled = this.#pool.apply(tf.mean(x, [1, 2], true), ctx);
    parts.push(tf.tile(pooled, [1, h, w, 1]));
    return this.#project.apply(tf.concat(parts, 3), ctx);
  }
}

/** DeepLabv3+: ASPP + decoder + classifier. */
export class DeepLabV3PlusHead extends Module
  implements Head<SegmentationOutputs, SegmentationTargets> {
  /** Classes (background included). */
  readonly numClasses: number;
  /** Level ASPP runs on (4 at output stride 16, 3 at 8). */
  readonly highLevel: number;
  /** Level of the decoder's skip feature (stride 4). */
  readonly lowLevel: number = 2;
  /** The ASPP module. */
  readonly aspp: Aspp;
  readonly #low: ConvBn;
  readonly #fuse: [ConvBn, ConvBn];
  readonly #classifier: Conv2d;

  /** Builds the head for the backbone's channels. */
  constructor(c: DeepLabConfig, deps: HeadInputs) {
    super();
    const rates = asppRates(c.rates, c.outputStride);
    this.highLevel = Math.log2(c.outputStride);
    for (const level of [this.lowLevel, this.highLevel]) {
      if (deps.channels[level] === undefined) {
        throw new Error(
          `deeplabv3plus: backbone lacks level ${level} (stride ${
            2 ** level
          }); it has ${
            Object.keys(deps.channels).join(",")
          }. Use a segmentation backbone (convnet-seg, efficientnet-seg, spinenet-seg) or one that outputs levels 2 and ${this.highLevel}`,
        );
      }
    }
    if (!Number.isInteger(deps.numClasses) || deps.numClasses < 2) {
      throw new Error(
        `deeplabv3plus: numClasses must be >= 2 (background included), got ${deps.numClasses}`,
      );
    }
    this.numClasses = deps.numClasses;
    const norm = normActFrom(deps.shared ?? DEFAULT_SHARED, "relu");
    const f = c.filters;
    this.aspp = this.child(
      "aspp",
      new Aspp(deps.channels[this.highLevel], f, rates, norm),
    );
    this.#low = this.child(
      "low_project",
      new ConvBn(
        deps.channels[this.lowLevel],
        c.lowLevelFilters,
        { kernel: 1 },
        norm,
      ),
    );
    this.#fuse = [
      this.child(
        "decoder1",
        new ConvBn(f + c.lowLevelFilters, f, { kernel: 3 }, norm),
      ),
      this.child("decoder2", new ConvBn(f, f, { kernel: 3 }, norm)),
    ];
    this.#classifier = this.child(
      "classifier",
      new Conv2d(f, deps.numClasses, { kernel: 1, bias: true, std: 0.01 }),
    );
  }

  /** Logits at the input size (4× the stride-4 feature's size). */
  apply(features: FeaturePyramid, ctx: ForwardContext): SegmentationOutputs {
    const high = features[this.highLevel];
    const low = features[this.lowLevel];
    if (!high || !low) {
      throw new Error(
        `deeplabv3plus: features lack level ${
          !high ? this.highLevel : this.lowLevel
        }`,
      );
    }
    const [, lh, lw] = low.shape;
    const a = upsample(this.aspp.apply(high, ctx), lh, lw);
    let y = tf.concat([a, this.#low.apply(low, ctx)], 3);
    for (const conv of this.#fuse) y = conv.apply(y, ctx);
    const logits = this.#classifier.apply(y);
    return { logits: upsample(logits, lh * 4, lw * 4) };
  }

  /** Masks (at the input size) as int32 labels. */
  encodeTargets(samples: readonly Sample[]): SegmentationTargets {
    return { labels: encodeMasks(samples) };
  }

  /** Per-pixel probabilities and argmax mask in source-image pixels. */
  postprocess(
    out: SegmentationOutputs,
    samples: readonly Sample[],
  ): Promise<Prediction[]> {
    return probsToPredictions(out.logits, samples);
  }
}

/** Registry entry of `deeplabv3plus`. */
export const deepLabHeadSpec: SpecOf<"head", Readonly<DeepLabConfig>> = {
  name: "deeplabv3plus",
  description:
    "DeepLabv3+: ASPP (rates 6/12/18 at OS 16, doubled at 8, + image pooling) and a stride-4 decoder",
  defaults: DEEPLAB_DEFAULTS,
  help: {
    outputStride: "16 (ASPP rates as given) or 8 (rates doubled)",
    rates: "ASPP atrous rates at output stride 16",
    filters: "ASPP and decoder channels (paper: 256)",
    lowLevelFilters: "channels of the stride-4 projection (paper: 48)",
  },
  create: (c, deps) => new DeepLabV3PlusHead(c, deps),
};
