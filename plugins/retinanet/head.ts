/**
 * The RetinaNet head: class and box subnets shared across pyramid levels,
 * anchors, target encoding and post-processing. Raw outputs are flattened
 * over levels in anchor order: `cls` `[N, K, numClasses]` logits and `box`
 * `[N, K, 4]` offsets, `K` the number of anchors of the input size.
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  DEFAULT_SHARED,
  type FeaturePyramid,
  type Head,
  type HeadInputs,
  type SharedSettings,
} from "../../core/contracts.ts";
import type { ForwardContext } from "../../core/nn/module.ts";
import { Module } from "../../core/nn/module.ts";
import type { Activation } from "../../core/contracts.ts";
import type { Prediction, Sample } from "../../core/types.ts";
import { AnchorCache, type AnchorOptions, type AnchorSet } from "./anchors.ts";
import { type BoxScales, toBoxScales } from "./box_coder.ts";
import type { RetinaNetConfig } from "./config.ts";
import { type MatchOptions, validateMatchOptions } from "./matcher.ts";
import { decodeDetections, type PostprocessOptions } from "./postprocess.ts";
import { Subnet } from "./subnet.ts";
import {
  buildTargetArrays,
  type RetinaTargets,
  targetsToTensors,
} from "./targets.ts";

/** Raw head outputs, flattened over levels in anchor order. */
export type RetinaOutputs = {
  cls: tf.Tensor3D;
  box: tf.Tensor3D;
};

/** What the head derives from its config. */
interface HeadParts {
  anchors: AnchorOptions;
  match: MatchOptions;
  boxScales: BoxScales;
  postprocess: PostprocessOptions;
  activation: Activation;
}

const ACTIVATIONS: readonly string[] = ["relu", "swish", "relu6"];

/** Checks a config and splits it into the parts' options; one-line errors. */
function headParts(c: RetinaNetConfig, shared: SharedSettings): HeadParts {
  const where = "retinanet";
  const activation = shared.activation === "auto" ? "relu" : shared.activation;
  if (!ACTIVATIONS.includes(activation)) {
    throw new Error(
      `${where}: activation must be one of ${
        ACTIVATIONS.join(", ")
      }, got "${activation}"`,
    );
  }
  for (const k of ["preNmsTopK", "maxDetections"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) {
      throw new Error(`${where}: ${k} must be a positive integer, got ${c[k]}`);
    }
  }
  if (c.aspectRatios.length === 0 || c.aspectRatios.some((r) => !(r > 0))) {
    throw new Error(
      `${where}: aspectRatios must be positive numbers, got [${c.aspectRatios}]`,
    );
  }
  return {
    anchors: {
      minLevel: c.minLevel,
      maxLevel: c.maxLevel,
      numScales: c.numScales,
      aspectRatios: c.aspectRatios,
      anchorSize: c.anchorSize,
    },
    match: {
      positive: c.matchPositive,
      negative: c.matchNegative,
      allowLowQuality: c.allowLowQuality,
      crowdIoa: c.crowdIoa,
    },
    boxScales: toBoxScales(c.boxScales),
    postprocess: {
      scoreThreshold: c.scoreThreshold,
      preNmsTopK: c.preNmsTopK,
      nmsIou: c.nmsIou,
      maxDetections: c.maxDetections,
      softNms: c.softNms,
      softNmsSigma: c.softNmsSigma,
    },
    activation: activation as Activation,
  };
}

/** RetinaNet head over a feature pyramid. */
export class RetinaNetHead extends Module
  implements Head<RetinaOutputs, RetinaTargets> {
  /** Foreground classes. */
  readonly numClasses: number;
  /** Model input size `[height, width]`. */
  readonly inputSize: readonly [number, number];
  /** Levels used, ascending. */
  readonly levels: readonly number[];
  readonly #o: HeadParts;
  readonly #anchors: AnchorCache;
  readonly #classNet: Subnet;
  readonly #boxNet: Subnet;

  /** Builds the subnets for the backbone's channels. */
  constructor(c: RetinaNetConfig, deps: HeadInputs) {
    super();
    const where = "retinanet/head";
    const shared = deps.shared ?? DEFAULT_SHARED;
    const o = headParts(c, shared);
    if (!Number.isInteger(deps.numClasses) || deps.numClasses < 1) {
      throw new Error(
        `${where}: numClasses must be a positive integer, got ${deps.numClasses}`,
      );
    }
    if (!(c.priorProb > 0 && c.priorProb < 1)) {
      throw new Error(
        `${where}: priorProb must be in (0, 1), got ${c.priorProb}`,
      );
    }
    if (!Number.isInteger(c.convs) || c.convs < 0 || !(c.filters >= 1)) {
      throw new Error(`${where}: need convs >= 0 and filters >= 1`);
    }
    validateMatchOptions(o.match);
    this.#anchors = new AnchorCache(o.anchors);
    const levels: number[] = [];
    for (let l = o.anchors.minLevel; l <= o.anchors.maxLevel; l++) {
      levels.push(l);
    }
    const chans = levels.map((l) => deps.channels[l]);
    if (chans.some((c) => c === undefined)) {
      throw new Error(
        `${where}: backbone lacks levels; needs ${levels.join(",")}, has ${
          Object.keys(deps.channels).join(",")
        }`,
      );
    }
    if (chans.some((c) => c !== chans[0])) {
      throw new Error(
        `${where}: subnets are shared, so levels need equal channels; got ${chans}`,
      );
    }
    this.numClasses = deps.numClasses;
    this.inputSize = [deps.inputSize[0], deps.inputSize[1]];
    this.levels = levels;
    this.#o = o;
    const A = this.#anchors.perLocation;
    const common = {
      inChannels: chans[0],
      filters: c.filters,
      numConvs: c.convs,
      levels,
      activation: o.activation,
      bnMomentum: shared.bnMomentum,
      bnEpsilon: shared.bnEpsilon,
    };
    this.#classNet = this.child(
      "class_net",
      new Subnet({
        ...common,
        outChannels: A * this.numClasses,
        biasInit: -Math.log((1 - c.priorProb) / c.priorProb),
      }),
    );
    this.#boxNet = this.child(
      "box_net",
      new Subnet({ ...common, outChannels: A * 4, biasInit: 0 }),
    );
    this.anchors(); // fail early on a bad input size
  }

  /** The anchors of the model input size. */
  anchors(): AnchorSet {
    return this.#anchors.get(this.inputSize);
  }

  /** Class logits and box offsets for every anchor. */
  apply(features: FeaturePyramid, ctx: ForwardContext): RetinaOutputs {
    const anchors = this.anchors();
    const A = anchors.perLocation, C = this.numClasses;
    const cls: tf.Tensor3D[] = [];
    const box: tf.Tensor3D[] = [];
    for (const lv of anchors.levels) {
      const x = features[lv.level];
      if (!x) {
        throw new Error(`retinanet/head: features lack level ${lv.level}`);
      }
      const [n, h, w] = x.shape;
      if (h !== lv.height || w !== lv.width) {
        throw new Error(
          `retinanet/head: level ${lv.level} is ${h}x${w}, anchors expect ${lv.height}x${lv.width} for input ${
            this.inputSize.join("x")
          }`,
        );
      }
      cls.push(
        tf.reshape(this.#classNet.apply(x, lv.level, ctx), [n, h * w * A, C]),
      );
      box.push(
        tf.reshape(this.#boxNet.apply(x, lv.level, ctx), [n, h * w * A, 4]),
      );
    }
    return {
      cls: cls.length === 1 ? cls[0] : tf.concat(cls, 1),
      box: box.length === 1 ? box[0] : tf.concat(box, 1),
    };
  }

  /** Matches anchors to each sample's boxes and encodes the offsets. */
  encodeTargets(samples: readonly Sample[]): RetinaTargets {
    const arrays = buildTargetArrays(
      samples,
      this.anchors(),
      this.numClasses,
      this.#o.match,
      this.#o.boxScales,
    );
    return targetsToTensors(arrays, samples.length);
  }

  /** Decodes, thresholds and suppresses; boxes in source-image pixels. */
  async postprocess(
    out: RetinaOutputs,
    samples: readonly Sample[],
  ): Promise<Prediction[]> {
    const anchors = this.anchors();
    const [N, K, C] = out.cls.shape;
    if (N !== samples.length || K !== anchors.count || C !== this.numClasses) {
      throw new Error(
        `retinanet/head: postprocess got ${N}x${K}x${C} outputs for ${samples.length} samples, ${anchors.count} anchors, ${this.numClasses} classes`,
      );
    }
    const [logits, deltas] = await Promise.all([
      out.cls.data(),
      out.box.data(),
    ]);
    const opts = {
      ...this.#o.postprocess,
      boxScales: this.#o.boxScales,
    };
    return samples.map((s, n) => ({
      id: s.id,
      detections: decodeDetections(
        logits.subarray(n * K * C, (n + 1) * K * C),
        deltas.subarray(n * K * 4, (n + 1) * K * 4),
        anchors,
        C,
        s,
        opts,
      ),
    }));
  }
}
