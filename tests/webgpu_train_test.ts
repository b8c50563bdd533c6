/**
 * A small model trains on `webgpu` as it does on `cpu`: 20 SGD-momentum
 * steps with the product's optimizer give the same losses, the backend
 * choice says why it passes over a software adapter, and the self-training
 * recipe (which reads no tensor synchronously) runs on it. Ignored, with one
 * message, only when there is no WebGPU adapter at all.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../core/backend.ts";
import { LossNormalizer } from "../selftrain/normalizer.ts";
import { withInitSeed } from "../core/nn/layers.ts";
import { cpuBackend } from "../plugins/backends/cpu.ts";
import {
  adapterLine,
  isSoftwareAdapter,
  webgpuBackend,
} from "../plugins/backends/webgpu.ts";
import { TinyConvNet } from "../plugins/classifier/mod.ts";
import { ClassificationHead } from "../plugins/classifier/mod.ts";
import { sgdTrainer } from "../bench/models/bench_model.ts";
import { ADAPTER, inputValues, NO_WEBGPU, use } from "./webgpu_helpers.ts";
import { runTiny, tempOut, TINY_MODEL, tinyTrain } from "./recipe_helpers.ts";

const STEPS = 20;

/** Losses of 20 steps of a conv-BN-swish net + dense head on `backend`. */
async function losses(backend: "cpu" | "webgpu"): Promise<number[]> {
  await use(backend);
  const [net, head] = withInitSeed(3, () => {
    const n = new TinyConvNet({
      width: 8,
      stages: 3,
      activation: "swish",
      bnMomentum: 0.9,
    });
    return [
      n,
      new ClassificationHead({
        channels: n.outputChannels,
        numClasses: 5,
        inputSize: [16, 16],
      }),
    ];
  });
  const variables = [...net.namedParameters(), ...head.namedParameters()]
    .map(([, v]) => v);
  const model = {
    variables,
    params: variables.reduce((a, v) => a + v.size, 0),
    forward: (x: tf.Tensor4D, training: boolean) =>
      head.apply(net.apply(x, { training })),
    dispose: () => {
      net.dispose();
      head.dispose();
    },
  };
  const x = tf.tensor4d(inputValues({ shape: [4, 16, 16, 3], seed: 5 }), [
    4,
    16,
    16,
    3,
  ]);
  const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3], "int32"), 5);
  const trainer = sgdTrainer(model, x, labels);
  const out: number[] = [];
  for (let i = 0; i < STEPS; i++) out.push(await trainer.step());
  trainer.dispose();
  model.dispose();
  tf.dispose([x, labels]);
  return out;
}

Deno.test({
  name: "webgpu: 20 training steps give cpu's losses",
  ignore: NO_WEBGPU,
  async fn() {
    const ref = await losses("cpu");
    const got = await losses("webgpu");
    assert.ok(ref[STEPS - 1] < ref[0], `cpu loss falls: ${ref}`);
    ref.forEach((l, i) =>
      assert.ok(
        Math.abs(l - got[i]) <= 1e-3 * Math.max(1, Math.abs(l)),
        `step ${i + 1}: cpu ${l}, webgpu ${got[i]}`,
      )
    );
  },
});

Deno.test({
  name: "webgpu: auto passes over a software adapter and says why",
  ignore: NO_WEBGPU,
  async fn() {
    const choice = await selectBackend([webgpuBackend, cpuBackend], "auto");
    if (ADAPTER!.software) {
      assert.equal(choice.name, "cpu");
      assert.match(choice.why, /skipped webgpu: .*runs on the CPU/);
    } else {
      assert.equal(choice.name, "webgpu");
    }
    const asked = await selectBackend([webgpuBackend, cpuBackend], "webgpu");
    assert.equal(asked.name, "webgpu");
    assert.ok(asked.why.includes(adapterLine(ADAPTER!)));
    await use("cpu");
  },
});

Deno.test("webgpu: software adapters are recognised from their fields", () => {
  assert.ok(
    isSoftwareAdapter({ description: "llvmpipe (LLVM 15.0.6, 256 bits)" }),
  );
  assert.ok(isSoftwareAdapter({ device: "lavapipe" }));
  assert.ok(isSoftwareAdapter({ vendor: "NVIDIA", isFallbackAdapter: true }));
  assert.ok(
    !isSoftwareAdapter({ vendor: "nvidia", description: "NVIDIA H200" }),
  );
  assert.equal(
    adapterLine({
      vendor: "65541",
      architecture: "",
      device: "0",
      description: "llvmpipe",
      software: true,
    }),
    "llvmpipe (software adapter)",
  );
});

Deno.test({
  name: "webgpu: the loss normaliser's on-backend path gives the hand values",
  ignore: NO_WEBGPU,
  async fn() {
    await use("webgpu");
    // decay 0.5, alpha 1 (tests/selftrain_normalizer_test.ts): 2, 1.7, 2.5.
    const norm = new LossNormalizer({ alpha: 1, decay: 0.5 });
    const got: number[] = [];
    for (const [h, p] of [[2, 1], [1, 4], [3, 2]]) {
      const t = norm.combine(tf.scalar(h), tf.scalar(p));
      got.push((await t.data())[0]);
      t.dispose();
    }
    [2, 1.7, 2.5].forEach((e, i) => assert.ok(Math.abs(got[i] - e) < 1e-5));
    assert.deepEqual(await norm.save(), {
      humanAvg: 2.25,
      pseudoAvg: 2.25,
      steps: 3,
    });
    await use("cpu");
  },
});

Deno.test({
  name: "webgpu: coco-selftrain runs end to end with --backend webgpu",
  ignore: NO_WEBGPU,
  async fn() {
    const out = await tempOut("webgpu");
    try {
      const { report } = await runTiny("coco-selftrain", out, {
        ...TINY_MODEL,
        ...tinyTrain("teacher", 2),
        ...tinyTrain("student", 2),
        "pseudo.threshold": "0.001",
        "pseudo.batchSize": "4",
      }, "webgpu");
      assert.equal(report.backend, "webgpu");
      const student = report.student as { metrics: Record<string, number> };
      assert.ok(Number.isFinite(student.metrics.AP));
    } finally {
      await Deno.remove(out, { recursive: true });
      await use("cpu");
    }
  },
});
