/**
 * ResNet-18 in torchvision's layout (conv 7×7/2, max-pool 3×3/2, four stages
 * of two BasicBlocks with 64/128/256/512 channels, 1×1 projection shortcuts,
 * global average pool, fully connected): 11,689,512 trainable parameters at
 * 1000 classes. NHWC, plain tfjs-core ops.
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  BatchNorm,
  type BenchModel,
  type BenchModelOptions,
  ParamStore,
} from "./bench_model.ts";

type Apply = (x: tf.Tensor4D, training: boolean) => tf.Tensor4D;

/**
 * Conv + batch norm (+ relu when `relu`); at inference the batch norm is
 * folded into one fused conv, as the product's `ConvBn` does.
 */
function convBn(
  store: ParamStore,
  k: number,
  cin: number,
  cout: number,
  stride: number,
  relu: boolean,
): Apply {
  const w = store.he([k, k, cin, cout]) as tf.Variable<tf.Rank.R4>;
  const bn = new BatchNorm(store, cout);
  // PyTorch pads k//2 on every side; "same" differs for stride 2 on even sizes
  const pad = Math.floor(k / 2);
  return (x, training) => {
    if (training) {
      const y = bn.apply(tf.conv2d(x, w, stride, pad), training);
      return relu ? tf.relu(y) : y;
    }
    return bn.withFolded(w, (folded) =>
      tf.fused.conv2d({
        x,
        filter: folded.kernel,
        strides: stride,
        pad,
        bias: folded.bias,
        activation: relu ? "relu" : "linear",
      }));
  };
}

function basicBlock(
  store: ParamStore,
  cin: number,
  cout: number,
  stride: number,
): Apply {
  const a = convBn(store, 3, cin, cout, stride, true);
  const b = convBn(store, 3, cout, cout, 1, false);
  const shortcut = stride !== 1 || cin !== cout
    ? convBn(store, 1, cin, cout, stride, false)
    : null;
  return (x, training) => {
    const y = b(a(x, training), training);
    return tf.relu(tf.add(y, shortcut ? shortcut(x, training) : x));
  };
}

/** Builds ResNet-18 for `classes` outputs. */
export function createResNet18(options: BenchModelOptions): BenchModel {
  const store = new ParamStore(options.seed);
  const stem = convBn(store, 7, 3, 64, 2, true);
  const blocks: Apply[] = [];
  let cin = 64;
  for (const [cout, stride] of [[64, 1], [128, 2], [256, 2], [512, 2]]) {
    blocks.push(basicBlock(store, cin, cout, stride));
    blocks.push(basicBlock(store, cout, cout, 1));
    cin = cout;
  }
  const fcW = store.he([512, options.classes]);
  const fcB = store.constant([options.classes], 0);
  return {
    variables: store.variables,
    params: store.count(),
    forward(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
      let h = stem(x, training);
      h = tf.maxPool(h, 3, 2, 1);
      for (const block of blocks) h = block(h, training);
      const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
      return tf.add(tf.matMul(pooled, fcW as tf.Tensor2D), fcB);
    },
    dispose(): void {
      store.dispose();
    },
  };
}
