// Tiny trained-looking runs, made by hand (no training): a config.json,
// classes.json and one checkpoint. The detector's class bias is raised so
// that it reliably detects something above any score threshold, which a
// randomly initialised RetinaNet (prior 0.01) never does; the segmenter's
// classifier bias makes its masks mix background and one class.
import * as tf from "@tensorflow/tfjs-core";
import { writeJsonAtomic } from "../core/fs.ts";
import type { TaskModel } from "../core/model.ts";
import { saveCheckpoint, stepName } from "../core/train/checkpoint.ts";
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

/** Model input size of the test detector. */
export const INPUT = 64;
/** Class names of the test detector. */
export const CLASSES = ["circle", "square", "star"];
/** A small detector that still uses the real backbone and head. */
export const TINY_MODEL: DetectorSection = {
  ...CPU_DETECTOR,
  head: { ...CPU_DETECTOR.head, convs: 1, filters: 16 },
};

/** A detector whose class logits sit near +4 (sigmoid ≈ 0.98). */
export function confidentDetector(): TaskModel {
  const model = buildDetector(
    createBuiltinRegistry(),
    TINY_MODEL,
    CLASSES.length,
    INPUT,
    0,
  );
  const bias = new Map(model.namedVariables()).get(
    "head.class_net.predict.bias",
  );
  if (!bias) throw new Error("test setup: class bias variable not found");
  tf.tidy(() => bias.assign(tf.fill(bias.shape, 4)));
  return model;
}

/** Writes a run folder with a `train` phase checkpoint of `model` at step 3. */
export async function writeRun(run: string, model: TaskModel): Promise<void> {
  await Deno.mkdir(run, { recursive: true });
  await writeJsonAtomic(`${run}/config.json`, {
    recipe: "coco-supervised",
    backend: "wasm",
    config: {
      seed: 0,
      data: { ...DETECTION_DATA_DEFAULTS, inputSize: INPUT },
      model: TINY_MODEL,
    },
  });
  await writeClassNames(run, CLASSES);
  await saveCheckpoint(`${run}/train/checkpoints`, stepName(3), {
    weights: new Map(model.namedVariables()),
    state: new Map(),
    meta: { step: 3 },
  });
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
  const bias = new Map(model.namedVariables()).get("head.classifier.bias");
  if (!bias) throw new Error("test setup: classifier bias not found");
  tf.tidy(() => bias.assign(tf.tensor1d([3, 3, -3])));
  return model;
}

/** Writes a `pascal-supervised` run folder with a `train` checkpoint of `model`. */
export async function writeSegRun(
  run: string,
  model: TaskModel,
): Promise<void> {
  await Deno.mkdir(run, { recursive: true });
  await writeJsonAtomic(`${run}/config.json`, {
    recipe: "pascal-supervised",
    backend: "wasm",
    config: {
      seed: 0,
      data: { ...SEG_DATA_DEFAULTS, inputSize: INPUT },
      model: TINY_SEGMENTER,
    },
  });
  await writeClassNames(run, SEG_CLASSES);
  await saveCheckpoint(`${run}/train/checkpoints`, stepName(5), {
    weights: new Map(model.namedVariables()),
    state: new Map(),
    meta: { step: 5 },
  });
}
