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
import type { ConfigObject } from "../core/config.ts";
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
import {
  backboneArgs,
  CPU_SHARED,
  MODEL_CHOICES,
  type ModelBase,
  SHARED_HELP,
} from "./model_config.ts";

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

/**
 * `model.*`: the backbone being pre-trained (its own keys are
 * `model.backboneConfig.*`), the shared settings, and the pooling.
 */
export interface PretrainModelSection extends ModelBase {
  /** Pooled features: `deepest` level or `all` levels concatenated. */
  pool: string;
}

/** Defaults: the body of `convnet-fpn` (tiny-convnet, 5 stages, width 16). */
export const PRETRAIN_MODEL_DEFAULTS: PretrainModelSection = {
  backbone: "tiny-convnet",
  ...CPU_SHARED,
  backboneConfig: { stages: 5 },
  pool: "deepest",
};

/** Meaning of the `model.*` keys. */
export const PRETRAIN_MODEL_HELP: Readonly<Record<string, string>> = {
  backbone:
    "backbone plugin; tiny-convnet with stages=5 is convnet-fpn's body, efficientnet-b0 ... efficientnet-fpn's; its own keys are model.backboneConfig.*",
  ...SHARED_HELP,
  pool:
    "features for the classifier / projection: global pool of the deepest level, or of all levels concatenated",
};

/** Allowed values of the `model.*` string keys. */
export const PRETRAIN_MODEL_CHOICES: Readonly<
  Record<string, readonly string[]>
> = {
  "model.pool": ["deepest", "all"],
  ...MODEL_CHOICES,
};

/**
 * The backbone's config as its checkpoint records it: its own keys plus the
 * shared settings it was built with (activation, batch-norm epsilon and
 * momentum), which `model.init` gives back to the backbone it initialises.
 */
export function backboneConfig(m: PretrainModelSection): ConfigObject {
  return recorded(backboneArgs(m));
}

/** The config a backbone's arguments record: its keys and the shared ones. */
function recorded(
  { config, ctx }: ReturnType<typeof backboneArgs>,
): ConfigObject {
  return { ...config, ...ctx.shared };
}

/** Builds the backbone of `m` (call inside `withInitSeed`). */
export function buildBackbone(
  registry: Registry,
  m: PretrainModelSection,
): { backbone: Backbone; config: ConfigObject } {
  const args = backboneArgs(m);
  const backbone = registry.create(
    "backbone",
    m.backbone,
    args.config,
    args.ctx,
  );
  return { backbone, config: recorded(args) };
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
