/**
 * Per-kernel and per-model engine benchmarks on every backend that can run
 * here (cpu only for the small cases; it is the slow reference):
 *   deno bench -A bench/engine_bench.ts
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  cpuBackend,
  nativeBackend,
  wasmBackend,
} from "../plugins/backends/index.ts";
import type { BackendProvider } from "../core/backend.ts";
import { setWinogradEnabled } from "../plugins/backends/kernels/winograd.ts";
import { createResNet18 } from "./models/resnet18.ts";
import { atrousConv2d } from "../plugins/layers/atrous.ts";
import { sgdTrainer } from "./models/bench_model.ts";

const available: BackendProvider[] = [wasmBackend];
if ((await nativeBackend.probe()).ok) available.push(nativeBackend);

/**
 * Registers one bench per backend; `setup` runs on that backend. With
 * `winograd`, the bench runs with the Winograd path set that way (and is
 * named after it).
 */
function benchOn(
  name: string,
  providers: BackendProvider[],
  setup: () => { run: () => void | Promise<void>; dispose: () => void },
  iterations?: number,
  winograd?: boolean,
): void {
  const variant = winograd === undefined
    ? ""
    : ` winograd ${winograd ? "on" : "off"}`;
  for (const provider of providers) {
    let state: { run: () => void | Promise<void>; dispose: () => void } | null =
      null;
    Deno.bench({
      name: `${name}${variant} [${provider.name}]`,
      group: name,
      baseline: winograd === false,
      ...(iterations ? { n: iterations, warmup: 1 } : {}),
      async fn(b) {
        await provider.activate();
        state ??= setup();
        const before = winograd === undefined
          ? undefined
          : setWinogradEnabled(winograd);
        b.start();
        await state.run();
        b.end();
        if (before !== undefined) setWinogradEnabled(before);
      },
    });
    addEventListener("unload", () => state?.dispose());
  }
}

function randomTensor(shape: number[]): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, "float32", 1);
}

/** A kernel call on fixed inputs, reading the result to synchronise. */
function kernelCase(
  make: () => tf.Tensor[],
  op: (inputs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
) {
  return () => {
    const inputs = make();
    return {
      run: () => {
        const out = tf.tidy(() => op(inputs));
        const outs = Array.isArray(out) ? out : [out];
        outs.forEach((t) => t.dataSync());
        tf.dispose(outs);
      },
      dispose: () => tf.dispose(inputs),
    };
  };
}

const convShapes: [string, number[], number[], number][] = [
  ["3x3 64->64 8x32x32", [8, 32, 32, 64], [3, 3, 64, 64], 1],
  ["3x3 128->128 s2 8x32x32", [8, 32, 32, 128], [3, 3, 128, 128], 2],
  ["1x1 256->512 s2 8x16x16", [8, 16, 16, 256], [1, 1, 256, 512], 2],
];
for (const [label, xs, fs, s] of convShapes) {
  benchOn(
    `conv2d ${label}`,
    available,
    kernelCase(
      () => [randomTensor(xs), randomTensor(fs)],
      ([x, f]) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, s, "same"),
    ),
  );
  benchOn(
    `conv2d grads ${label}`,
    available,
    kernelCase(
      () => [randomTensor(xs), randomTensor(fs)],
      ([x, f]) =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, "same")
        )([x, f]),
    ),
  );
}

// DeepLabv3+'s segmentation ops, forward and both gradients: dilated 3x3
// convs (space-to-batch; a rate at least the map size is the centre-tap
// 1x1 conv) and the decoder's bilinear upsampling (its gradient).
const atrousShapes: [string, number[], number[], number][] = [
  ["rate 2 8x32x32x64", [8, 32, 32, 64], [3, 3, 64, 64], 2],
  ["rate 6 8x16x16x128", [8, 16, 16, 128], [3, 3, 128, 128], 6],
  [
    "rate 12 on 4x4 (centre tap) 8x4x4x128",
    [8, 4, 4, 128],
    [3, 3, 128, 128],
    12,
  ],
];
for (const [label, xs, fs, rate] of atrousShapes) {
  benchOn(
    `atrous conv grads ${label}`,
    available,
    kernelCase(
      () => [randomTensor(xs), randomTensor(fs)],
      ([x, f]) =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          atrousConv2d(a as tf.Tensor4D, b as tf.Tensor4D, rate)
        )([x, f]),
    ),
  );
}
benchOn(
  "resizeBilinear grad 8x16x16x64 -> 64x64",
  available,
  kernelCase(
    () => [randomTensor([8, 16, 16, 64])],
    ([x]) =>
      tf.grad((a: tf.Tensor) =>
        tf.image.resizeBilinear(a as tf.Tensor4D, [64, 64])
      )(x),
  ),
);

// ResNet-18's stride-1 3x3 convs at batch 8, 128 px: Winograd on vs off
// (inference, so the transformed filter is cached as in a model forward)
const resnetStages: [number, number][] = [[32, 64], [16, 128], [8, 256], [
  4,
  512,
]];
for (const [size, c] of resnetStages) {
  for (const on of [true, false]) {
    benchOn(
      `conv2d 3x3 ${c}->${c} 8x${size}x${size}`,
      available.filter((p) => p === nativeBackend),
      kernelCase(
        () => [randomTensor([8, size, size, c]), randomTensor([3, 3, c, c])],
        ([x, f]) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, "same"),
      ),
      undefined,
      on,
    );
    benchOn(
      `conv2d grads 3x3 ${c}->${c} 8x${size}x${size}`,
      available.filter((p) => p === nativeBackend),
      kernelCase(
        () => [randomTensor([8, size, size, c]), randomTensor([3, 3, c, c])],
        ([x, f]) =>
          tf.grads((a: tf.Tensor, b: tf.Tensor) =>
            tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same")
          )([x, f]),
      ),
      undefined,
      on,
    );
  }
}

benchOn(
  "depthwise 3x3 x2 grads 8x32x32x96",
  available,
  kernelCase(
    () => [randomTensor([8, 32, 32, 96]), randomTensor([3, 3, 96, 1])],
    ([x, f]) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same")
      )([x, f]),
  ),
);

benchOn(
  "matMul 512x512x512",
  available,
  kernelCase(
    () => [randomTensor([512, 512]), randomTensor([512, 512])],
    ([a, b]) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
  ),
);

benchOn(
  "small conv net train step (cpu reference too)",
  [cpuBackend, ...available],
  kernelCase(
    () => [
      randomTensor([2, 32, 32, 3]),
      randomTensor([3, 3, 3, 32]),
      randomTensor([3, 3, 32, 32]),
    ],
    ([x, f1, f2]) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(
          tf.conv2d(
            tf.relu(tf.conv2d(x as tf.Tensor4D, a as tf.Tensor4D, 1, "same")),
            b as tf.Tensor4D,
            2,
            "same",
          ),
        )
      )([f1, f2]),
  ),
  3,
);

function resnetCase(training: boolean) {
  return () => {
    const model = createResNet18({ classes: 1000, seed: 1 });
    const x = randomTensor([8, 128, 128, 3]) as tf.Tensor4D;
    const labels = tf.oneHot(
      tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], "int32"),
      1000,
    );
    const trainer = sgdTrainer(model, x, labels);
    return {
      run: async () => {
        if (training) {
          await trainer.step();
        } else {
          const y = tf.tidy(() => model.forward(x, false));
          await y.data();
          y.dispose();
        }
      },
      dispose: () => {
        model.dispose();
        trainer.dispose();
        tf.dispose([x, labels]);
      },
    };
  };
}

benchOn("resnet18 train step b8 128px", available, resnetCase(true), 3);
benchOn("resnet18 forward b8 128px", available, resnetCase(false), 5);
