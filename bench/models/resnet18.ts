/**
 * ResNet-18 in torchvision's layout (conv 7×7/2, max-pool 3×3/2, four stages
 * of two BasicBlocks with 64/128/256/512 channels, 1×1 projection shortcuts,
 * global average pool, fully connected): 11,689,512 trainable parameters at
 * 1000 classes. Built from the product's modules (`Module`, `Dense`, and
 * `ConvBn`, which is `core/nn`'s `Conv2d` + `BatchNorm` and folds the batch
 * norm into one fused conv at inference), so `bench:compare` measures the
 * nn every backbone uses. Batch norm as PyTorch's: momentum 0.1 (0.9 in the
 * moving-average convention here), epsilon 1e-5. Convolutions pad `same`:
 * the output sizes and work equal torchvision's symmetric padding.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Dense, withInitSeed } from "../../core/nn/layers.ts";
import { type ForwardContext, Module } from "../../core/nn/module.ts";
import { ConvBn, type NormActConfig } from "../../plugins/layers/conv_bn.ts";
import { globalAvgPool, maxPool3x3s2 } from "../../plugins/layers/ops.ts";
import { relu } from "../../plugins/layers/activations.ts";
import type { BenchModel, BenchModelOptions } from "./bench_model.ts";

const TORCH_BN: NormActConfig = {
  activation: "relu",
  bnMomentum: 0.9,
  bnEpsilon: 1e-5,
};

/** Two 3×3 conv-BN (ReLU after the first and after the sum), 1×1 shortcut when the shape changes. */
export class BasicBlock extends Module {
  readonly #a: ConvBn;
  readonly #b: ConvBn;
  readonly #shortcut: ConvBn | null;

  /** `cin` → `cout` channels, first conv at `stride`. */
  constructor(cin: number, cout: number, stride: number) {
    super();
    this.#a = this.child(
      "conv1",
      new ConvBn(cin, cout, { kernel: 3, stride }, TORCH_BN),
    );
    this.#b = this.child(
      "conv2",
      new ConvBn(cout, cout, { kernel: 3, act: false }, TORCH_BN),
    );
    this.#shortcut = stride !== 1 || cin !== cout
      ? this.child(
        "downsample",
        new ConvBn(cin, cout, { kernel: 1, stride, act: false }, TORCH_BN),
      )
      : null;
  }

  /** relu(branch(x) + shortcut(x)). */
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    const y = this.#b.apply(this.#a.apply(x, ctx), ctx);
    return relu(tf.add(y, this.#shortcut?.apply(x, ctx) ?? x));
  }
}

/** ResNet-18 classifier: `[N, H, W, 3]` images → `[N, classes]` logits. */
export class ResNet18 extends Module {
  readonly #stem: ConvBn;
  readonly #blocks: BasicBlock[] = [];
  readonly #fc: Dense;

  /** Builds the network for `classes` outputs. */
  constructor(classes: number) {
    super();
    this.#stem = this.child(
      "conv1",
      new ConvBn(3, 64, { kernel: 7, stride: 2 }, TORCH_BN),
    );
    let cin = 64;
    [[64, 1], [128, 2], [256, 2], [512, 2]].forEach(([cout, stride], i) => {
      for (let j = 0; j < 2; j++) {
        this.#blocks.push(
          this.child(
            `layer${i + 1}_${j}`,
            new BasicBlock(cin, cout, j === 0 ? stride : 1),
          ),
        );
        cin = cout;
      }
    });
    this.#fc = this.child("fc", new Dense(512, classes));
  }

  /** Logits. */
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D {
    let h = maxPool3x3s2(this.#stem.apply(x, ctx));
    for (const block of this.#blocks) h = block.apply(h, ctx);
    return this.#fc.apply(globalAvgPool(h));
  }
}

/** Builds ResNet-18 for `classes` outputs with weights drawn from `seed`. */
export function createResNet18(options: BenchModelOptions): BenchModel {
  const model = withInitSeed(
    options.seed,
    () => new ResNet18(options.classes),
  );
  return {
    variables: model.namedParameters().map(([, v]) => v),
    params: model.countParameters(),
    forward: (x, training) => model.apply(x, { training }),
    dispose: () => model.dispose(),
  };
}
