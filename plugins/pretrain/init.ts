/**
 * Initialising a backbone from a backbone checkpoint: which part of a
 * registered backbone a checkpoint loads into (the backbone itself, or the
 * body of a wrapper: the EfficientNet of `efficientnet-fpn`, the conv net
 * of `convnet-fpn`), which config keys the checkpoint dictates (its
 * architecture: variant, width, activation, batch-norm epsilon…, not its
 * training settings), and the name-by-name copy with a one-line error
 * listing what does not fit.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { ConfigObject } from "../../core/config.ts";
import {
  IMAGENET_NORMALIZATION,
  type Normalization,
} from "../../core/data/loader.ts";
import type { Module } from "../../core/nn/module.ts";
import {
  type BackboneCheckpoint,
  type BackboneManifest,
  checkNormalization,
  HEAD_PREFIX,
  manifestBackbone,
} from "./checkpoint.ts";

/**
 * Bodies of the built-in wrappers: backbone name → the checkpoint
 * architectures it takes and the module path they load into.
 */
const BODIES: Readonly<
  Record<string, readonly { architecture: RegExp; path: string }[]>
> = {
  "efficientnet-fpn": [{
    architecture: /^efficientnet-b[0-7]$/,
    path: "backbone",
  }],
  "efficientnet-seg": [{ architecture: /^efficientnet-b[0-7]$/, path: "" }],
  "convnet-fpn": [{ architecture: /^tiny-convnet$/, path: "body" }],
  "convnet-seg": [{ architecture: /^tiny-convnet$/, path: "" }],
  "spinenet-seg": [{ architecture: /^spinenet-/, path: "" }],
};

/**
 * Config keys that are training settings or how the backbone is used, not
 * its architecture: the run's own values stay.
 */
const RUN_KEYS: ReadonlySet<string> = new Set([
  "bnMomentum",
  "dropConnect",
  "outputStride",
]);

/**
 * The module path inside backbone `name` that a checkpoint of
 * `architecture` loads into (`""`: the whole backbone); a one-line error
 * naming `dir` when it does not fit.
 */
export function checkpointPath(
  name: string,
  architecture: string,
  dir: string,
): string {
  if (architecture === name) return "";
  const body = BODIES[name]?.find((b) => b.architecture.test(architecture));
  if (body) return body.path;
  const takes = [
    name,
    ...(BODIES[name] ?? []).map((b) => b.architecture.source),
  ];
  throw new Error(
    `${dir}: checkpoint is a "${architecture}" backbone; model.backbone "${name}" takes ${
      takes.join(" or ")
    }`,
  );
}

/**
 * Backbone config overrides a checkpoint dictates: the keys of its config
 * that backbone `name` declares (same type), less the run's own settings
 * (batch-norm momentum, drop-connect, output stride), plus the activation
 * and batch-norm epsilon it was built with (shared settings, which the
 * recipes hand to the backbone). Throws when the checkpoint does not fit
 * `name` at all.
 */
export function initOverrides(
  name: string,
  declared: Readonly<ConfigObject>,
  manifest: BackboneManifest,
  dir: string,
): ConfigObject {
  checkpointPath(name, manifest.architecture, dir);
  const out: ConfigObject = {};
  const { config, shared } = manifestBackbone(manifest.config, declared);
  for (const [k, v] of Object.entries(config)) if (!RUN_KEYS.has(k)) out[k] = v;
  // The architecture's shared settings it recorded go with it (not momentum).
  for (const k of ["activation", "bnEpsilon"] as const) {
    if (k in manifest.config) out[k] = shared[k];
  }
  return out;
}

/** Options of `initBackbone`. */
export interface InitBackboneOptions {
  /** The checkpoint folder (named in errors). */
  dir: string;
  /** Registered name of the backbone being initialised. */
  architecture: string;
  /** Normalisation the run feeds the backbone (default: the loader's). */
  normalization?: Normalization;
}

function listed(names: string[], limit = 4): string {
  const shown = names.slice(0, limit).join(", ");
  return names.length > limit
    ? `[${shown}, … +${names.length - limit} more]`
    : `[${shown}]`;
}

/**
 * What keeps `source` from loading into `target` by name: the missing,
 * unexpected and shape-mismatched names (lists cut to a few), or `null`
 * when every name fits.
 */
export function describeMisfit(
  target: ReadonlyMap<string, { shape: readonly number[] }>,
  source: ReadonlyMap<string, { shape: readonly number[] }>,
): string | null {
  const missing = [...target.keys()].filter((n) => !source.has(n));
  const unexpected = [...source.keys()].filter((n) => !target.has(n));
  const shapes: string[] = [];
  for (const [n, v] of target) {
    const t = source.get(n);
    if (t && t.shape.join(",") !== v.shape.join(",")) {
      shapes.push(`${n} [${t.shape}] vs model [${v.shape}]`);
    }
  }
  const parts = [
    missing.length ? `${missing.length} missing ${listed(missing)}` : "",
    unexpected.length
      ? `${unexpected.length} unexpected ${listed(unexpected)}`
      : "",
    shapes.length
      ? `${shapes.length} shape mismatches ${listed(shapes, 2)}`
      : "",
  ].filter(Boolean);
  return parts.length ? parts.join("; ") : null;
}

/**
 * Copies a checkpoint's variables into `backbone` (or the part of it the
 * checkpoint's architecture names) by name. Every variable of that part
 * must be in the checkpoint with the same shape and the checkpoint must
 * hold nothing else (a saved head, `head.*`, is skipped); otherwise a
 * one-line error lists the missing, unexpected and shape-mismatched
 * names. Returns the number of variables copied.
 */
export function initBackbone(
  backbone: Module,
  checkpoint: BackboneCheckpoint,
  opts: InitBackboneOptions,
): number {
  const { dir } = opts;
  const { manifest } = checkpoint;
  const path = checkpointPath(opts.architecture, manifest.architecture, dir);
  checkNormalization(
    dir,
    manifest.preprocessing,
    opts.normalization ?? IMAGENET_NORMALIZATION,
  );
  const prefix = path ? `${path}.` : "";
  const target = new Map<string, tf.Variable>();
  for (const [n, v] of backbone.namedVariables()) {
    if (n.startsWith(prefix)) target.set(n.slice(prefix.length), v);
  }
  const source = new Map(
    [...checkpoint.tensors].filter(([n]) => !n.startsWith(HEAD_PREFIX)),
  );
  const misfit = describeMisfit(target, source);
  if (misfit) {
    const where = path ? ` (its ${path}.*)` : "";
    throw new Error(
      `${dir}: ${manifest.architecture} checkpoint does not fit backbone "${opts.architecture}"${where}: ${misfit}`,
    );
  }
  for (const [n, v] of target) v.assign(source.get(n)!);
  return target.size;
}
