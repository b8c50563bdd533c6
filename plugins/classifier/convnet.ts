/**
 * A small plain conv net for CPU work and tests: stages of
 * (3×3 stride-2 conv, BN, act) + (3×3 conv, BN, act), doubling width per
 * stage. Level `i` has stride `2**i`.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { Backbone, FeaturePyramid } from "../../core/contracts.ts";
import { BatchNorm, Conv2d } from "../../core/nn/layers.ts";
import { activate } from "../layers/activations.ts";
import type { Activation } from "../../core/contracts.ts";
import { type ForwardContext, Module } from "../../core/nn/module.ts";

/** What `TinyConvNet` is built from: the plugin's keys plus norm settings. */
export interface TinyConvNetConfig {
  /** Channels of the first stage. */
  width: number;
  /** Number of stride-2 stages (output levels 1..stages). */
  stages: number;
  /** Activation. */
  activation: Activation;
  /** Batch-norm moving-average momentum (0.9 suits short CPU runs). */
  bnMomentum: number;
  /** Batch-norm epsilon (default 1e-3). */
  bnEpsilon?: number;
}

class ConvBnAct extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm;
  constructor(
    cin: number,
    cout: number,
    stride: number,
    readonly act: Activation,
    momentum: number,
    epsilon?: number,
  ) {
    super();
    this.conv = this.child(
      "conv",
      new Conv2d(cin, cout, { kernel: 3, stride }),
    );
    this.bn = this.child("bn", new BatchNorm(cout, { momentum, epsilon }));
  }
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    return activate(
      this.bn.apply(this.conv.apply(x), ctx),
      this.act,
    ) as tf.Tensor4D;
  }
}

/** The backbone. */
export class TinyConvNet extends Module implements Backbone {
  /** Channels per level. */
  readonly outputChannels: Readonly<Record<number, number>>;
  readonly #blocks: [ConvBnAct, ConvBnAct][] = [];

  /** Builds the net for RGB input. */
  constructor(cfg: TinyConvNetConfig) {
    super();
    const channels: Record<number, number> = {};
    let cin = 3;
    for (let s = 0; s < cfg.stages; s++) {
      const cout = cfg.width * 2 ** s;
      this.#blocks.push([
        this.child(
          `stage${s + 1}_down`,
          new ConvBnAct(
            cin,
            cout,
            2,
            cfg.activation,
            cfg.bnMomentum,
            cfg.bnEpsilon,
          ),
        ),
        this.child(
          `stage${s + 1}_conv`,
          new ConvBnAct(
            cout,
            cout,
            1,
            cfg.activation,
            cfg.bnMomentum,
            cfg.bnEpsilon,
          ),
        ),
      ]);
      channels[s + 1] = cout;
      cin = cout;
    }
    this.outputChannels = channels;
  }

  /** Features at levels 1..stages. */
  apply(images: tf.Tensor4D, ctx: ForwardContext): FeaturePyramid {
    const out: FeaturePyramid = {};
    let x = images;
    this.#blocks.forEach(([down, conv], i) => {
      x = conv.apply(down.apply(x, ctx), ctx);
      out[i + 1] = x;
    });
    return out;
  }
}
