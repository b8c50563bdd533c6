/**
 * Pieces shared by the pre-training recipes (`pretrain-supervised`,
 * `pretrain-simclr`): the classification data section, the backbone
 * section (any registered backbone with config overrides), top-k accuracy,
 * and writing the pre-trained backbone as a backbone checkpoint that the
 * detection and segmentation recipes load with `--model.init=DIR`.
 *
 * The default backbone is `tiny-convnet` with five stages, which is exactly
 * the body of the detection recipes' CPU backbone `convnet-fpn`: its
 * checkpoint loads into that body and the FPN starts from random weights,
 * as an ImageNet-pre-trained backbone does under RetinaNet's FPN.
 */
import type * as tf from "@tensorflow/tfjs-core";
import {
  coerceLeaf,
  type ConfigLeaf,
  type ConfigObject,
} from "../core/config.ts";
import type { Backbone } from "../core/contracts.ts";
import type { Module } from "../core/nn/module.ts";
import type { DataSplits, Registry } from "../core/registry.ts";
import type { Dataset } from "../core/types.ts";
import {
  type BackboneManifest,
  productPreprocessing,
  saveBackboneCheckpoint,
} from "../plugins/pretrain/mod.ts";
import { prefixKeys } from "./train_config.ts";

/** Folder (inside a run's `--out`) of the pre-trained backbone checkpoint. */
export const BACKBONE_DIR = "backbone";

/** `data.*`: where classification data comes from. */
export interface ClassificationDataSection {
  [key: string]: string | number;
  /** `auto` (folder when data.root is set, else synthetic), `synthetic` or `folder`. */
  source: string;
  /** Image folder root (`train/<class>/`, `val/<class>/`, optional `tune/`). */
  root: string;
  /** Square model input (images: shorter side resized, centre-cropped). */
  inputSize: number;
}

/** Defaults: the built-in `synthetic-objects` set at 64 px. */
export const CLASSIFICATION_DATA_DEFAULTS: ClassificationDataSection = {
  source: "auto",
  root: "",
  inputSize: 64,
};

/** Meaning of the `data.*` keys. */
export const CLASSIFICATION_DATA_HELP: Readonly<Record<string, string>> = {
  source:
    "auto (folder when data.root is set, else the built-in synthetic-objects set), synthetic or folder",
  root:
    "image folder in the ImageNet layout: root/train/<class>/*.jpg|png, root/val/<class>/..., optional root/tune/",
  inputSize:
    "square model input; images are resized (shorter side) and centre-cropped to it, crops are resized to it",
};

/** Loads the classification splits `d` names; a tune split is required. */
export async function loadClassificationData(
  registry: Registry,
  d: ClassificationDataSection,
): Promise<DataSplits & { tune: Dataset; name: string }> {
  const source = d.source === "auto"
    ? (d.root ? "folder" : "synthetic")
    : d.source;
  let splits: DataSplits, name: string;
  if (source === "folder") {
    splits = await registry.create("dataset", "image-folder", {
      root: d.root,
      inputSize: d.inputSize,
    });
    name = `image-folder:${d.root}`;
  } else if (source === "synthetic") {
    splits = await registry.create("dataset", "synthetic-objects", {
      inputSize: d.inputSize,
    });
    name = "synthetic-objects";
  } else {
    throw new Error(
      `data.source must be auto, synthetic or folder, got "${d.source}"`,
    );
  }
  if (!splits.tune) {
    throw new Error(
      `${name}: no tune split (settings are chosen on tune, val is only reported; add ${
        d.root || "<root>"
      }/tune/<class>/)`,
    );
  }
  return { ...splits, tune: splits.tune, name };
}

/** `model.*`: the backbone being pre-trained. */
export interface PretrainModelSection {
  [key: string]: string | number;
  /** Backbone plugin. */
  backbone: string;
  /** Backbone config overrides, `key=value,key=value` over its defaults. */
  config: string;
  /** Batch-norm momentum (passed when the backbone declares it). */
  bnMomentum: number;
  /** Pooled features: `deepest` level or `all` levels concatenated. */
  pool: string;
}

/** Defaults: the body of `convnet-fpn` (tiny-convnet, 5 stages, width 16). */
export const PRETRAIN_MODEL_DEFAULTS: PretrainModelSection = {
  backbone: "tiny-convnet",
  config: "stages=5",
  bnMomentum: 0.9,
  pool: "deepest",
};

/** Meaning of the `model.*` keys. */
export const PRETRAIN_MODEL_HELP: Readonly<Record<string, string>> = {
  backbone:
    "backbone plugin; tiny-convnet with stages=5 is convnet-fpn's body, efficientnet-b0 ... efficientnet-fpn's",
  config:
    "backbone config overrides as key=value,key=value (its other keys keep their defaults)",
  bnMomentum: "batch-norm moving-average momentum",
  pool:
    "features for the classifier / projection: global pool of the deepest level, or of all levels concatenated",
};

/** Allowed values of the `model.*` string keys. */
export const PRETRAIN_MODEL_CHOICES: Readonly<
  Record<string, readonly string[]>
> = { "model.pool": ["deepest", "all"] };

/**
 * The backbone's full config: its registered defaults, `model.config`'s
 * overrides (typed by those defaults) and the batch-norm momentum.
 */
export function backboneConfig(
  registry: Registry,
  m: PretrainModelSection,
): ConfigObject {
  const declared = registry.get("backbone", m.backbone).defaults;
  const config: ConfigObject = structuredClone(declared);
  if ("bnMomentum" in declared) config.bnMomentum = m.bnMomentum;
  for (const part of m.config.split(",").map((s) => s.trim())) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq).trim();
    const example = declared[key];
    if (eq < 0 || example === undefined || typeof example === "object") {
      throw new Error(
        `model.config: "${part}" is not key=value with a key of backbone "${m.backbone}" (${
          Object.keys(declared).join(", ")
        })`,
      );
    }
    config[key] = coerceLeaf(
      `model.config ${key}`,
      part.slice(eq + 1).trim(),
      example as ConfigLeaf,
    );
  }
  return config;
}

/** Builds the backbone of `m` (call inside `withInitSeed`). */
export function buildBackbone(
  registry: Registry,
  m: PretrainModelSection,
): { backbone: Backbone; config: ConfigObject } {
  const config = backboneConfig(registry, m);
  return { backbone: registry.create("backbone", m.backbone, config), config };
}

/** Help of the keys both pre-training recipes share: seed, data.*, model.*. */
export const PRETRAIN_COMMON_HELP: Readonly<Record<string, string>> = {
  seed: "seed of data order, weight init and augmentation",
  ...prefixKeys("data", CLASSIFICATION_DATA_HELP),
  ...prefixKeys("model", PRETRAIN_MODEL_HELP),
};

/** What a pre-training run records about itself in the manifest. */
export interface PretrainProvenance {
  /** Recipe name. */
  recipe: string;
  /** Dataset it trained on. */
  dataset: string;
  /** Optimisation steps. */
  steps: number;
  /** Images per step (micro-batch × accumulation). */
  batch: number;
  /** Run seed. */
  seed: number;
  /** Its evaluation numbers. */
  metrics: Record<string, number>;
}

/**
 * Writes `<out>/backbone/`: the backbone's variables under their own names
 * and, when given, a classification head under `head.*` with its classes.
 */
export async function writeBackbone(
  out: string,
  m: PretrainModelSection,
  backbone: { module: Module; config: ConfigObject },
  inputSize: number,
  provenance: PretrainProvenance,
  head?: { module: Module; classes: readonly string[] },
): Promise<string> {
  const dir = `${out}/${BACKBONE_DIR}`;
  const variables: [string, tf.Tensor][] = [
    ...backbone.module.namedVariables(),
  ];
  if (head) {
    for (const [n, v] of head.module.namedVariables()) {
      variables.push([`head.${n}`, v]);
    }
  }
  const manifest: BackboneManifest = {
    format: "selftrain-backbone/1",
    architecture: m.backbone,
    config: backbone.config,
    preprocessing: productPreprocessing(inputSize),
    provenance: {
      source: provenance.recipe,
      created: new Date().toISOString(),
      ...provenance,
    },
  };
  if (head) manifest.classes = [...head.classes];
  await saveBackboneCheckpoint(dir, variables, manifest);
  return dir;
}
