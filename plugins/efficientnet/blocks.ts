/**
 * MBConv (inverted bottleneck) block with squeeze-excitation, as in
 * EfficientNet: optional 1×1 expansion, depthwise conv, SE, 1×1 projection,
 * and an identity shortcut with drop-connect when shapes allow.
 */
import * as tf from "@tensorflow/tfjs-core";
import { type ForwardContext, Module } from "../../core/nn/module.ts";
import { BatchNorm, Conv2d } from "../../core/nn/layers.ts";
import { activate } from "../layers/activations.ts";
import { AtrousDepthwiseConv2d, DepthwiseConv2d } from "../layers/depthwise.ts";
import {
  bnParams,
  ConvBn,
  convBnParams,
  convParams,
  type NormActConfig,
} from "../layers/conv_bn.ts";
import {
  applyConv,
  dropConnect,
  inferenceIfFrozen,
  spatialMean,
} from "../layers/ops.ts";
import {
  batchNormParams,
  FoldCache,
  fusedConvKernelUsable,
  runFusedConvKernel,
} from "../layers/fold.ts";

/** Shape of one MBConv block after scaling. */
export interface MBConvPlan {
  /** Depthwise kernel size. */
  readonly kernel: number;
  /** Depthwise stride. */
  readonly stride: number;
  /** Depthwise dilation (1 unless the network runs at a reduced output stride). */
  readonly dilation?: number;
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** Expansion ratio (1 skips the expansion conv). */
  readonly expandRatio: number;
  /** Squeeze channels (0 disables SE). */
  readonly seChannels: number;
  /** Drop-connect rate of the residual branch. */
  readonly dropRate: number;
  /** PyTorch-style padding of the strided depthwise conv (torchvision weights). */
  readonly symmetricPadding?: boolean;
}

/** Squeeze-excitation: pool → 1×1 reduce + act → 1×1 expand + sigmoid → scale. */
export class SqueezeExcitation extends Module {
  readonly #reduce: Conv2d;
  readonly #expand: Conv2d;

  /** Creates SE for `channels` with `squeeze` hidden channels. */
  constructor(channels: number, squeeze: number) {
    super();
    this.#reduce = this.child(
      "reduce",
      new Conv2d(channels, squeeze, { kernel: 1, bias: true }),
    );
    this.#expand = this.child(
      "expand",
      new Conv2d(squeeze, channels, { kernel: 1, bias: true }),
    );
  }

  /** Rescales the channels of `x`. */
  apply(x: tf.Tensor4D, act: NormActConfig["activation"]): tf.Tensor4D {
    const s = spatialMean(x);
    const r = activate(applyConv(this.#reduce, s), act) as tf.Tensor4D;
    return tf.mul(x, tf.sigmoid(applyConv(this.#expand, r)));
  }
}

/** One MBConv block. */
export class MBConvBlock extends Module {
  readonly #expand?: ConvBn;
  readonly #depthwise: DepthwiseConv2d;
  readonly #dwBn: BatchNorm;
  readonly #se?: SqueezeExcitation;
  readonly #project: ConvBn;
  readonly #plan: MBConvPlan;
  readonly #norm: NormActConfig;
  /** The depthwise kernel with its batch norm folded in, for inference. */
  readonly #dwFolds = new FoldCache(true);

  /** Builds the block from its plan. */
  constructor(plan: MBConvPlan, norm: NormActConfig) {
    super();
    const hidden = plan.inChannels * plan.expandRatio;
    if (plan.expandRatio !== 1) {
      this.#expand = this.child(
        "expand",
        new ConvBn(plan.inChannels, hidden, { kernel: 1 }, norm),
      );
    }
    this.#depthwise = this.child(
      "depthwise",
      (plan.dilation ?? 1) > 1
        ? new AtrousDepthwiseConv2d(hidden, plan.kernel, plan.dilation!)
        : new DepthwiseConv2d(
          hidden,
          plan.kernel,
          plan.stride,
          plan.symmetricPadding ?? false,
        ),
    );
    this.#dwBn = this.child(
      "depthwise_bn",
      new BatchNorm(hidden, {
        momentum: norm.bnMomentum,
        epsilon: norm.bnEpsilon,
      }),
    );
    if (plan.seChannels > 0) {
      this.#se = this.child(
        "se",
        new SqueezeExcitation(hidden, plan.seChannels),
      );
    }
    this.#project = this.child(
      "project",
      new ConvBn(hidden, plan.outChannels, { kernel: 1, act: false }, norm),
    );
    this.#plan = plan;
    this.#norm = norm;
  }

  /** True when the block adds its input back (stride 1, same width). */
  get residual(): boolean {
    return this.#plan.stride === 1 &&
      this.#plan.inChannels === this.#plan.outChannels;
  }

  /** Frees the cached folded depthwise kernel. */
  protected override releaseDerived(): void {
    this.#dwFolds.dispose();
  }

  /**
   * Depthwise conv, batch norm and activation; at inference, where the
   * backend has the fused conv kernel, one kernel with the batch norm
   * folded into the depthwise filter.
   */
  #depthwiseBnAct(y: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    const act = this.#norm.activation, dw = this.#depthwise;
    if (
      ctx.training || dw instanceof AtrousDepthwiseConv2d ||
      !fusedConvKernelUsable()
    ) {
      return activate(this.#dwBn.apply(dw.apply(y), ctx), act) as tf.Tensor4D;
    }
    return this.#dwFolds.use(
      dw.kernel as tf.Tensor4D,
      undefined,
      batchNormParams(this.#dwBn),
      ({ kernel, bias }) => {
        const [input, pad] = dw.padded(y);
        return runFusedConvKernel(input, kernel, bias, {
          strides: dw.stride,
          pad,
          dilations: 1,
          depthwise: true,
          activation: act,
        });
      },
    );
  }

  /** Applies the block. */
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    const act = this.#norm.activation;
    let y = this.#expand ? this.#expand.apply(x, ctx) : x;
    y = this.#depthwiseBnAct(y, ctx);
    if (this.#se) y = this.#se.apply(y, act);
    y = this.#project.apply(y, ctx);
    if (!this.residual) return y;
    // A frozen block keeps its branch: it is fixed, not regularised.
    const dc = inferenceIfFrozen(this, ctx);
    return tf.add(dropConnect(y, this.#plan.dropRate, dc), x);
  }
}

/** Trainable scalars of an MBConv block (same layers as `MBConvBlock`). */
export function mbconvParams(plan: MBConvPlan): number {
  const hidden = plan.inChannels * plan.expandRatio;
  const expand = plan.expandRatio !== 1
    ? convBnParams(1, plan.inChannels, hidden)
    : 0;
  const depthwise = plan.kernel * plan.kernel * hidden + bnParams(hidden);
  const se = plan.seChannels > 0
    ? convParams(1, hidden, plan.seChannels, true) +
      convParams(1, plan.seChannels, hidden, true)
    : 0;
  return expand + depthwise + se +
    convBnParams(1, hidden, plan.outChannels);
}
