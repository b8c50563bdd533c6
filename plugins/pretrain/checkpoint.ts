/**
 * Backbone checkpoints: the weights of a pre-trained backbone (and
 * optionally its classification head, under `head.*`) with a manifest that
 * says what it is, how its inputs must be normalised and where it came
 * from. A folder holds `model.json` + `weights.bin` (the tfjs weights
 * format, as training checkpoints) and `backbone.json` (the manifest); it is
 * written under a temp name and renamed into place, so a reader never sees
 * a half-written one.
 *
 * Variable names are the backbone module's own dotted names
 * (`Module.namedVariables()` of the backbone, without the `backbone.`
 * prefix a `TaskModel` adds), batch-norm moving statistics included.
 */
import * as tf from "@tensorflow/tfjs-core";
import { dirname, resolve } from "node:path";
import type { ConfigObject } from "../../core/config.ts";
import { DEFAULT_SHARED, type SharedSettings } from "../../core/contracts.ts";
import { exists, readJson, writeJsonAtomic } from "../../core/fs.ts";
import {
  IMAGENET_NORMALIZATION,
  type Normalization,
} from "../../core/data/loader.ts";
import { readTensors, writeTensors } from "../../core/train/checkpoint.ts";

/** Format tag of `backbone.json`. */
export const BACKBONE_FORMAT = "selftrain-backbone/1";
/** Manifest file name inside a backbone checkpoint folder. */
export const MANIFEST_FILE = "backbone.json";
/** Prefix of the classification head's variables, when one is saved. */
export const HEAD_PREFIX = "head.";

/**
 * How images must be prepared for the backbone. `mean` and `std` are RGB
 * and refer to pixel values in `[0, range]`: the product's loader feeds
 * `(byte − mean·255/range) / (std·255/range)`, so a torchvision manifest
 * (`range` 1, mean 0.485…) and the product's own (`range` 255, mean
 * 123.675…) describe the same normalisation.
 */
export interface BackbonePreprocessing {
  /** RGB mean, in units of `range`. */
  mean: number[];
  /** RGB standard deviation, in units of `range`. */
  std: number[];
  /** Square input size the backbone was trained at. */
  inputSize: number;
  /** Pixel value range mean/std refer to: 255 (bytes) or 1 (bytes / 255). */
  range: number;
  /**
   * Classification preprocessing: resize the shorter side to this, then
   * centre-crop `inputSize` (torchvision's 256 → 224); 0 = resize to
   * `inputSize` directly.
   */
  resizeTo?: number;
  /** How the training run resized images, for the record (e.g. "bicubic"). */
  interpolation?: string;
}

/** What `backbone.json` says about a backbone checkpoint. */
export interface BackboneManifest {
  /** Format tag, `selftrain-backbone/1`. */
  format: "selftrain-backbone/1";
  /** Registered backbone name, e.g. `efficientnet-b0`. */
  architecture: string;
  /** The backbone config it was built with. */
  config: Record<string, unknown>;
  /** Input preparation. */
  preprocessing: BackbonePreprocessing;
  /** Where it came from: recipe, dataset, steps, seed, or `torchvision`. */
  provenance: { source: string; created: string; [key: string]: unknown };
  /** Class names, present when a classification head (`head.*`) is saved too. */
  classes?: string[];
}

/** A backbone checkpoint in memory (the caller disposes the tensors). */
export interface BackboneCheckpoint {
  /** The manifest. */
  manifest: BackboneManifest;
  /** Variables by name (backbone names, and `head.*` when present). */
  tensors: Map<string, tf.Tensor>;
}

/** The product loader's normalisation as checkpoint preprocessing. */
export function productPreprocessing(
  inputSize: number,
  norm: Normalization = IMAGENET_NORMALIZATION,
): BackbonePreprocessing {
  return {
    mean: [...norm.mean],
    std: [...norm.std],
    inputSize,
    range: 255,
  };
}

/** The loader normalisation (0–255 scale) a manifest's preprocessing means. */
export function normalizationOf(p: BackbonePreprocessing): Normalization {
  const k = 255 / p.range;
  return {
    mean: [p.mean[0] * k, p.mean[1] * k, p.mean[2] * k],
    std: [p.std[0] * k, p.std[1] * k, p.std[2] * k],
  };
}

/**
 * Throws a one-line error when the checkpoint in `dir` expects another
 * input normalisation than `norm` (the loader's, by default): weights
 * trained on differently scaled pixels would silently start from a worse
 * point.
 */
export function checkNormalization(
  dir: string,
  p: BackbonePreprocessing,
  norm: Normalization = IMAGENET_NORMALIZATION,
): void {
  const want = normalizationOf(p);
  const close = (a: readonly number[], b: readonly number[]) =>
    a.every((v, i) => Math.abs(v - b[i]) <= 1e-3 * Math.max(1, Math.abs(b[i])));
  if (!close(want.mean, norm.mean) || !close(want.std, norm.std)) {
    const fmt = (n: Normalization) =>
      `mean [${n.mean.map((v) => v.toFixed(3))}] std [${
        n.std.map((v) => v.toFixed(3))
      }]`;
    throw new Error(
      `${dir}: backbone expects inputs normalised with ${
        fmt(want)
      } (0-255 scale); this run normalises with ${fmt(norm)}`,
    );
  }
}

function isNumbers(v: unknown, n?: number): v is number[] {
  return Array.isArray(v) && (n === undefined || v.length === n) &&
    v.every((x) => typeof x === "number" && Number.isFinite(x));
}

/** Checks a parsed manifest; errors are one line naming `file`. */
export function validateManifest(
  file: string,
  m: unknown,
): BackboneManifest {
  const bad = (what: string): never => {
    throw new Error(`${file}: ${what}`);
  };
  if (typeof m !== "object" || m === null) bad("not a JSON object");
  const o = m as Record<string, unknown>;
  if (o.format !== BACKBONE_FORMAT) {
    bad(`format is ${JSON.stringify(o.format)}, expected "${BACKBONE_FORMAT}"`);
  }
  if (typeof o.architecture !== "string" || !o.architecture) {
    bad("architecture must be a non-empty string");
  }
  if (typeof o.config !== "object" || o.config === null) {
    bad("config must be an object");
  }
  const p = o.preprocessing as Record<string, unknown> | undefined;
  if (typeof p !== "object" || p === null) bad("preprocessing is missing");
  if (!isNumbers(p!.mean, 3) || !isNumbers(p!.std, 3)) {
    bad("preprocessing.mean and .std must be 3 numbers each");
  }
  if ((p!.std as number[]).some((s) => !(s > 0))) {
    bad("preprocessing.std must be positive");
  }
  if (!(typeof p!.inputSize === "number" && p!.inputSize > 0)) {
    bad("preprocessing.inputSize must be a positive number");
  }
  if (p!.range !== 1 && p!.range !== 255) {
    bad(`preprocessing.range must be 1 or 255, got ${p!.range}`);
  }
  const prov = o.provenance as Record<string, unknown> | undefined;
  if (
    typeof prov !== "object" || prov === null ||
    typeof prov.source !== "string" || typeof prov.created !== "string"
  ) {
    bad("provenance needs string source and created");
  }
  if (
    o.classes !== undefined &&
    !(Array.isArray(o.classes) && o.classes.every((c) => typeof c === "string"))
  ) {
    bad("classes must be an array of strings");
  }
  return o as unknown as BackboneManifest;
}

/**
 * Writes a backbone checkpoint folder `dir` atomically (temp folder +
 * rename; an existing one is replaced only once the new one is complete).
 * `variables` are `[name, tensor]` pairs; a head, if any, under `head.*`
 * with `manifest.classes` set.
 */
export async function saveBackboneCheckpoint(
  dir: string,
  variables: ReadonlyArray<readonly [string, tf.Tensor]>,
  manifest: BackboneManifest,
): Promise<void> {
  validateManifest(`${dir}/${MANIFEST_FILE}`, manifest);
  const named: tf.NamedTensorMap = {};
  for (const [name, t] of variables) {
    if (name in named) {
      throw new Error(`${dir}: variable "${name}" given twice`);
    }
    named[name] = t;
  }
  const hasHead = Object.keys(named).some((n) => n.startsWith(HEAD_PREFIX));
  if (hasHead !== (manifest.classes !== undefined)) {
    throw new Error(
      `${dir}: head.* variables and manifest.classes go together (head: ${hasHead}, classes: ${
        manifest.classes !== undefined
      })`,
    );
  }
  await Deno.mkdir(dirname(resolve(dir)), { recursive: true });
  const tag = `${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const tmp = `${dir}.tmp-${tag}`;
  try {
    await writeTensors(tmp, "model", new Map(Object.entries(named)), {
      format: "selftrain-backbone",
      generatedBy: "selftrain",
    });
    await writeJsonAtomic(`${tmp}/${MANIFEST_FILE}`, manifest);
    const old = `${dir}.old-${tag}`;
    const replacing = await exists(dir);
    if (replacing) await Deno.rename(dir, old);
    await Deno.rename(tmp, dir);
    if (replacing) await Deno.remove(old, { recursive: true });
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw new Error(
      `${dir}: cannot write backbone checkpoint: ${
        (e as Error).message.split("\n")[0]
      }`,
    );
  }
}

/** Reads a backbone checkpoint folder; errors are one line naming the file. */
export async function readBackboneCheckpoint(
  dir: string,
): Promise<BackboneCheckpoint> {
  const file = `${dir}/${MANIFEST_FILE}`;
  if (!(await exists(file))) {
    throw new Error(
      `${file}: missing (not a backbone checkpoint folder; expected backbone.json, model.json, weights.bin)`,
    );
  }
  const manifest = validateManifest(file, await readJson<unknown>(file));
  const { tensors } = await readTensors(dir, "model");
  const hasHead = [...tensors.keys()].some((n) => n.startsWith(HEAD_PREFIX));
  if (manifest.classes && !hasHead) {
    tf.dispose([...tensors.values()]);
    throw new Error(`${file}: lists classes but the weights have no head.*`);
  }
  return { manifest, tensors };
}

/** Frees a checkpoint's tensors. */
export function disposeBackboneCheckpoint(ck: BackboneCheckpoint): void {
  tf.dispose([...ck.tensors.values()]);
}

/**
 * A manifest's backbone config split into the keys `declared` has (the
 * backbone's own config, where the type matches) and the model's shared
 * settings it records (`activation`, `bnEpsilon`, `bnMomentum`), over
 * `DEFAULT_SHARED`: what builds the backbone the checkpoint describes.
 */
export function manifestBackbone(
  config: Readonly<Record<string, unknown>>,
  declared: Readonly<Record<string, unknown>>,
): { config: ConfigObject; shared: SharedSettings } {
  const own: ConfigObject = {};
  const shared: SharedSettings = { ...DEFAULT_SHARED };
  for (const [k, v] of Object.entries(config)) {
    if (k in declared && typeof v === typeof declared[k]) {
      own[k] = v as ConfigObject[string];
    } else if (k === "activation" && typeof v === "string") {
      shared.activation = v as SharedSettings["activation"];
    } else if (
      (k === "bnEpsilon" || k === "bnMomentum") && typeof v === "number"
    ) {
      shared[k] = v;
    }
  }
  return { config: own, shared };
}
