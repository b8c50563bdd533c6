/**
 * A user's own detection backbone in one file, written only against
 * selftrain's public API and loaded with `--plugin`:
 *
 *   deno task recipe coco-supervised --plugin ./examples/custom_detection_backbone.ts \
 *     --model.backbone=strided-pyramid --model.backboneConfig.width=24
 *   deno task recipe coco-selftrain --plugin ./examples/custom_detection_backbone.ts \
 *     --model.backbone=strided-pyramid --model.backboneConfig.base=8
 *
 * RetinaNet takes levels 3–7 (strides 8–128). `strided-pyramid` makes them
 * with a plain chain of stride-2 3×3 convolutions (batch norm + ReLU), one
 * per level, each level's map projected to `width` channels for the head.
 * Its own keys (`base`, `width`) come from `--model.backboneConfig.*`; the
 * batch-norm settings come from the model's shared settings
 * (`model.bnMomentum`, `model.bnEpsilon`), which every backbone is handed;
 * it ignores the shared activation (always ReLU).
 */
import type * as tf from "@tensorflow/tfjs-core";
import {
  activate,
  type Backbone,
  type BackboneContext,
  BatchNorm,
  Conv2d,
  definePlugin,
  type FeaturePyramid,
  type ForwardContext,
  Module,
  type Plugin,
  type SharedSettings,
} from "../mod.ts";

/** conv 3×3 (stride 2) → batch norm → ReLU. */
class DownBlock extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm;
  constructor(cin: number, cout: number, shared: Readonly<SharedSettings>) {
    super();
    this.conv = this.child(
      "conv",
      new Conv2d(cin, cout, { kernel: 3, stride: 2 }),
    );
    this.bn = this.child(
      "bn",
      new BatchNorm(cout, {
        momentum: shared.bnMomentum,
        epsilon: shared.bnEpsilon,
      }),
    );
  }
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    return activate(
      this.bn.apply(this.conv.apply(x), ctx),
      "relu",
    ) as tf.Tensor4D;
  }
}

/** Levels 1..7 by stride-2 blocks; levels 3..7 projected to `width` channels. */
export class StridedPyramid extends Module implements Backbone {
  /** Channels per output level (3..7). */
  readonly outputChannels: Readonly<Record<number, number>>;
  readonly #down: DownBlock[] = [];
  readonly #lateral: Conv2d[] = [];

  /** `base` channels at level 1, doubling up to 8×; `width` at the outputs. */
  constructor(base: number, width: number, ctx: BackboneContext) {
    super();
    const channels: Record<number, number> = {};
    let cin = 3;
    for (let level = 1; level <= 7; level++) {
      const cout = base * 2 ** Math.min(level - 1, 3);
      this.#down.push(
        this.child(`down${level}`, new DownBlock(cin, cout, ctx.shared)),
      );
      if (level >= 3) {
        this.#lateral.push(
          this.child(
            `lateral${level}`,
            new Conv2d(cout, width, { kernel: 1, bias: true }),
          ),
        );
        channels[level] = width;
      }
      cin = cout;
    }
    this.outputChannels = channels;
  }

  /** Features of levels 3..7. */
  apply(images: tf.Tensor4D, ctx: ForwardContext): FeaturePyramid {
    const out: FeaturePyramid = {};
    let x = images;
    this.#down.forEach((block, i) => {
      x = block.apply(x, ctx);
      const level = i + 1;
      if (level >= 3) out[level] = this.#lateral[level - 3].apply(x);
    });
    return out;
  }
}

/** The plugin: registers the `strided-pyramid` detection backbone. */
const plugin: Plugin = definePlugin({
  name: "custom-detection-backbone-example",
  setup(registry) {
    registry.register("backbone", {
      name: "strided-pyramid",
      description:
        "example user plugin: levels 3-7 from a chain of stride-2 convs, for RetinaNet",
      defaults: { base: 16, width: 32 },
      help: {
        base: "channels at level 1, doubling per level up to 8x",
        width: "channels of each output level (3-7)",
      },
      create: (c, ctx) => new StridedPyramid(c.base, c.width, ctx),
    });
  },
});
export default plugin;
