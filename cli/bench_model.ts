/**
 * Side-by-side model benchmark:
 *   deno task bench:model --model resnet18 --batch 8 --size 128 --steps 5 \
 *     --classes 1000 --backend native --json
 * Trains with SGD-momentum on softmax cross-entropy over random data (the
 * product's optimizer, bench/models/bench_model.ts sgdTrainer), then
 * runs forward passes; the last line is JSON: {"model", "params", "backend",
 * "train_images_per_s", "infer_images_per_s", "peak_rss_mb"}.
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "node:util";
import { selectBackend } from "../core/backend.ts";
import { builtinBackends } from "../plugins/backends/index.ts";
import { benchModels } from "../bench/models/registry.ts";
import { sgdTrainer } from "../bench/models/bench_model.ts";

/** The benchmark's result line. */
export interface BenchModelResult {
  model: string;
  params: number;
  backend: string;
  train_images_per_s: number;
  infer_images_per_s: number;
  peak_rss_mb: number;
}

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new Error(
      `cli/bench_model.ts: --${name} must be a positive integer, got "${value}"`,
    );
  }
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      model: { type: "string", default: "resnet18" },
      batch: { type: "string", default: "8" },
      size: { type: "string", default: "128" },
      steps: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
      classes: { type: "string", default: "1000" },
      backend: { type: "string", default: "auto" },
      seed: { type: "string", default: "1" },
      json: { type: "boolean", default: false },
    },
  });
  const factory = benchModels[values.model];
  if (!factory) {
    throw new Error(
      `cli/bench_model.ts: unknown --model "${values.model}"; known: ${
        Object.keys(benchModels).join(", ")
      }`,
    );
  }
  const batch = positiveInt("batch", values.batch);
  const size = positiveInt("size", values.size);
  const steps = positiveInt("steps", values.steps);
  const warmup = Number(values.warmup);
  const classes = positiveInt("classes", values.classes);
  const seed = Number(values.seed);

  const choice = await selectBackend(builtinBackends, values.backend);
  console.log(`backend ${choice.name}: ${choice.why}`);

  let peakRss = Deno.memoryUsage().rss;
  const sampleRss = () => {
    peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
  };

  const model = factory({ classes, seed });
  const x = tf.randomUniform(
    [batch, size, size, 3],
    -1,
    1,
    "float32",
    seed,
  ) as tf.Tensor4D;
  const labels = tf.tidy(() =>
    tf.oneHot(
      tf.randomUniform([batch], 0, classes, "int32", seed + 1) as tf.Tensor1D,
      classes,
    )
  );
  const trainer = sgdTrainer(model, x, labels);
  const trainStep = async () => {
    const value = await trainer.step();
    sampleRss();
    return value;
  };
  const inferStep = async () => {
    const logits = tf.tidy(() => model.forward(x, false));
    await logits.data();
    logits.dispose();
    sampleRss();
  };

  for (let i = 0; i < warmup; i++) await trainStep();
  let t0 = performance.now();
  let lastLoss = NaN;
  for (let i = 0; i < steps; i++) lastLoss = await trainStep();
  const trainSeconds = (performance.now() - t0) / 1000;
  for (let i = 0; i < warmup; i++) await inferStep();
  t0 = performance.now();
  for (let i = 0; i < steps; i++) await inferStep();
  const inferSeconds = (performance.now() - t0) / 1000;

  const result: BenchModelResult = {
    model: values.model,
    params: model.params,
    backend: choice.name,
    train_images_per_s: round((batch * steps) / trainSeconds),
    infer_images_per_s: round((batch * steps) / inferSeconds),
    peak_rss_mb: Math.round(peakRss / 2 ** 20),
  };
  if (!values.json) {
    console.log(
      `${result.model} (${result.params} params) on ${result.backend}, batch ${batch}, ${size}x${size}: ` +
        `train ${result.train_images_per_s} img/s (${
          (trainSeconds * 1000 / steps).toFixed(0)
        } ms/step, last loss ${
          lastLoss.toFixed(3)
        }), infer ${result.infer_images_per_s} img/s, peak RSS ${result.peak_rss_mb} MB`,
    );
  }
  model.dispose();
  trainer.dispose();
  tf.dispose([x, labels]);
  console.log(JSON.stringify(result));
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(1);
  }
}
