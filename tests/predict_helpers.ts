// Tiny trained-looking runs, made by hand (no training): a config.json,
// classes.json and one checkpoint. The detector's class bias is raised so
// that it reliably detects something above any score threshold, which a
// randomly initialised RetinaNet (prior 0.01) never does; the segmenter's
// classifier bias makes its masks mix background and one class.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { writeJsonAtomic } from "../core/fs.ts";
import type { TaskModel } from "../core/model.ts";
import type { RawImage } from "../core/types.ts";
import { saveCheckpoint, stepName } from "../core/train/checkpoint.ts";
import { wasmBackend } from "../plugins/backends/wasm.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";
import { CPU_DETECTOR } from "../recipes/coco_supervised.ts";
import {
  buildDetector,
  DETECTION_DATA_DEFAULTS,
  type DetectorSection,
  writeClassNames,
} from "../recipes/detection.ts";
import {
  buildSegmenter,
  CPU_SEGMENTER,
  SEG_DATA_DEFAULTS,
  type SegModelSection,
} from "../recipes/segmentation.ts";

// The models here, and the predict tests, run on wasm.
await wasmBackend.activate();

/** Model input size of the test detector. */
export const INPUT = 64;
/** Class names of the test detector. */
export const CLASSES = ["circle", "square", "star"];
/** A small detector that still uses the real backbone and head. */
export const TINY_MODEL: DetectorSection = {
  ...CPU_DETECTOR,
  head: { ...CPU_DETECTOR.head, convs: 1, filters: 16 },
};

/** A `width`×`height` RGB image whose channel `c` at (x, y) is `value(x, y, c)`. */
export function rgbImage(
  width: number,
  height: number,
  value: (x: number, y: number, c: number) => number,
): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        data[(y * width + x) * 3 + c] = value(x, y, c);
      }
    }
  }
  return { data, width, height, channels: 3 };
}

/** Mid-grey texture (60..199 per channel: far from every palette colour). */
export function texture(w: number, h: number): RawImage {
  return rgbImage(
    w,
    h,
    (x, y, c) => 60 + (x * 7 + y * 13 + c * 31 + ((x * y) >> 3)) % 140,
  );
}

/** A smooth RGB gradient, so a resize round trip stays close to it. */
export function gradient(width: number, height: number): RawImage {
  return rgbImage(
    width,
    height,
    (x, y, c) =>
      [
        Math.round((255 * x) / (width - 1)),
        Math.round((255 * y) / (height - 1)),
        128,
      ][c],
  );
}

/** Runs `body` with a fresh temporary folder, removed afterwards. */
export async function withTempDir(
  body: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const CLI = new URL("../cli/predict.ts", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;

/**
 * Runs `deno task predict` (wasm backend) as a subprocess on `checkpoint`
 * and `images`, writing to `out`, with `extra` flags; its exit code and
 * stderr.
 */
export async function runPredict(
  checkpoint: string,
  images: string,
  out: string,
  ...extra: string[]
): Promise<{ code: number; stderr: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      CLI,
      "--backend",
      "wasm",
      "--checkpoint",
      checkpoint,
      "--images",
      images,
      "--out",
      out,
      ...extra,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
}

/** Asserts that a predict run failed (exit 1) with one stderr line matching `expected`. */
export function assertOneLineError(
  r: { code: number; stderr: string },
  expected: RegExp,
): void {
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], expected);
}

/** `model` with its variable `name` set to `value(shape)`. */
function withBias(
  model: TaskModel,
  name: string,
  value: (shape: number[]) => tf.Tensor,
): TaskModel {
  const bias = new Map(model.namedVariables()).get(name);
  if (!bias) throw new Error(`test setup: variable ${name} not found`);
  tf.tidy(() => bias.assign(value(bias.shape)));
  return model;
}

/**
 * Writes run folder `run` by hand: `config.json` of `recipe` with seed 0,
 * `data` at the test input size and `modelSection`, `classes.json`, and a
 * `train` phase checkpoint of `model` at `step`.
 */
async function writeHandMadeRun(
  run: string,
  recipe: string,
  data: Record<string, unknown>,
  modelSection: DetectorSection | SegModelSection,
  classes: readonly string[],
  model: TaskModel,
  step: number,
): Promise<void> {
  await Deno.mkdir(run, { recursive: true });
  await writeJsonAtomic(`${run}/config.json`, {
    recipe,
    backend: "wasm",
    config: {
      seed: 0,
      data: { ...data, inputSize: INPUT },
      model: modelSection,
    },
  });
  await writeClassNames(run, classes);
  await saveCheckpoint(`${run}/train/checkpoints`, stepName(step), {
    weights: new Map(model.namedVariables()),
    state: new Map(),
    meta: { step },
  });
}

/** A detector whose class logits sit near +4 (sigmoid ≈ 0.98). */
export function confidentDetector(): TaskModel {
  const model = buildDetector(
    createBuiltinRegistry(),
    TINY_MODEL,
    CLASSES.length,
    INPUT,
    0,
  );
  return withBias(
    model,
    "head.class_net.predict.bias",
    (shape) => tf.fill(shape, 4),
  );
}

/** Writes a run folder with a `train` phase checkpoint of `model` at step 3. */
export async function writeRun(run: string, model: TaskModel): Promise<void> {
  await writeHandMadeRun(
    run,
    "coco-supervised",
    DETECTION_DATA_DEFAULTS,
    TINY_MODEL,
    CLASSES,
    model,
    3,
  );
}

/** Writes `run` with a checkpoint of a fresh `confidentDetector()`. */
export async function writeConfidentRun(run: string): Promise<void> {
  const model = confidentDetector();
  try {
    await writeRun(run, model);
  } finally {
    model.dispose();
  }
}

/** Class names of the test segmenter. */
export const SEG_CLASSES = ["background", "circle", "square"];
/** A small DeepLabv3+ that still uses the real backbone and head. */
export const TINY_SEGMENTER: SegModelSection = {
  ...CPU_SEGMENTER,
  filters: 8,
  lowLevelFilters: 8,
};

/**
 * A random DeepLabv3+ whose classifier favours background and class 1
 * equally (bias +3, class 2 at −3): its random features then split the
 * pixels between those two, so masks mix background and foreground.
 */
export function mixedSegmenter(): TaskModel {
  const model = buildSegmenter(
    createBuiltinRegistry(),
    TINY_SEGMENTER,
    SEG_CLASSES.length,
    INPUT,
    0,
  );
  return withBias(model, "head.classifier.bias", () => tf.tensor1d([3, 3, -3]));
}

/** Writes a `pascal-supervised` run folder with a `train` checkpoint of `model` at step 5. */
export async function writeSegRun(
  run: string,
  model: TaskModel,
): Promise<void> {
  await writeHandMadeRun(
    run,
    "pascal-supervised",
    SEG_DATA_DEFAULTS,
    TINY_SEGMENTER,
    SEG_CLASSES,
    model,
    5,
  );
}
