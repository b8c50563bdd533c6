/**
 * A user's own backbone, written only against selftrain's public API and
 * loaded with `--plugin`:
 *
 *   deno task recipe classify --plugin ./examples/custom_backbone.ts \
 *     --backbone=separable-net --backboneConfig.width=8
 *
 * It registers `separable-net`: depthwise-separable stages (depthwise 3×3
 * stride 2 + pointwise 1×1), the MobileNet building block.
 */
import type * as tf from "@tensorflow/tfjs-core";
import {
  activate,
  type Backbone,
  BatchNorm,
  Conv2d,
  definePlugin,
  DepthwiseConv2d,
  type FeaturePyramid,
  type ForwardContext,
  Module,
  type Plugin,
} from "../mod.ts";

class SeparableStage extends Module {
  readonly dw: DepthwiseConv2d;
  readonly pw: Conv2d;
  readonly bn: BatchNorm;
  constructor(cin: number, cout: number) {
    super();
    this.dw = this.child("depthwise", new DepthwiseConv2d(cin, 3, 2));
    this.pw = this.child("pointwise", new Conv2d(cin, cout, { kernel: 1 }));
    this.bn = this.child("bn", new BatchNorm(cout));
  }
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    return activate(
      this.bn.apply(this.pw.apply(this.dw.apply(x)), ctx),
      "relu",
    ) as tf.Tensor4D;
  }
}

/** Depthwise-separable backbone with levels 1..stages. */
export class SeparableNet extends Module implements Backbone {
  /** Channels per level. */
  readonly outputChannels: Readonly<Record<number, number>>;
  readonly #stem: Conv2d;
  readonly #stages: SeparableStage[] = [];

  /** Builds `stages` stages starting at `width` channels. */
  constructor(width: number, stages: number) {
    super();
    this.#stem = this.child(
      "stem",
      new Conv2d(3, width, { kernel: 3, bias: true }),
    );
    const channels: Record<number, number> = {};
    let cin = width;
    for (let s = 1; s <= stages; s++) {
      const cout = width * 2 ** s;
      this.#stages.push(this.child(`stage${s}`, new SeparableStage(cin, cout)));
      channels[s] = cout;
      cin = cout;
    }
    this.outputChannels = channels;
  }

  /** Features per level. */
  apply(images: tf.Tensor4D, ctx: ForwardContext): FeaturePyramid {
    const out: FeaturePyramid = {};
    let x = activate(this.#stem.apply(images), "relu") as tf.Tensor4D;
    this.#stages.forEach((stage, i) => {
      x = stage.apply(x, ctx);
      out[i + 1] = x;
    });
    return out;
  }
}

/** The plugin: registers the `separable-net` backbone. */
const plugin: Plugin = definePlugin({
  name: "custom-backbone-example",
  setup(registry) {
    registry.register("backbone", {
      name: "separable-net",
      description: "example user plugin: depthwise-separable stages",
      defaults: { width: 16, stages: 3 },
      help: {
        width: "channels of the stem (doubling per stage)",
        stages: "depthwise-separable stages (output levels 1..stages)",
      },
      create: (c) => new SeparableNet(c.width, c.stages),
    });
  },
});
export default plugin;
