/**
 * Checkpoints in the standard TensorFlow.js weights format (`model.json` +
 * `weights.bin`: a weights manifest that `tf.io.decodeWeights` reads), plus
 * the training state needed to resume exactly (`training_state.json` +
 * `.bin`: optimizer slots, EMA, step, RNG state), in the same format.
 *
 * A checkpoint is a folder written under a temp name and renamed into place;
 * `latest` (a one-line file, itself written atomically) names the newest one.
 * A run killed at any moment leaves at worst an ignored temp folder.
 */
import * as tf from "@tensorflow/tfjs-core";
import { exists, readJson, writeFileAtomic, writeJsonAtomic } from "../fs.ts";
import type { Module } from "../nn/module.ts";

const LATEST = "latest";
/** JSON and binary file of the model's weights and of the training state. */
const FILES = {
  model: ["model.json", "weights.bin"],
  state: ["training_state.json", "training_state.bin"],
} as const;

/** A JSON file with a tfjs weights manifest. */
export interface ManifestFile {
  /** The weights manifest. */
  weightsManifest?: tf.io.WeightsManifestConfig;
  [key: string]: unknown;
}

/**
 * Writes `tensors` into folder `dir` as a tfjs weights file pair: `model`
 * (`model.json` + `weights.bin`) or `state` (`training_state.*`), with
 * `json`'s keys beside the weights manifest.
 */
export async function writeTensors(
  dir: string,
  part: keyof typeof FILES,
  tensors: ReadonlyMap<string, tf.Tensor>,
  json: Record<string, unknown>,
): Promise<void> {
  const [jsonName, binName] = FILES[part];
  await Deno.mkdir(dir, { recursive: true });
  const { data, specs } = await tf.io.encodeWeights(
    Object.fromEntries(tensors),
  );
  await writeFileAtomic(
    `${dir}/${binName}`,
    new Uint8Array(tf.io.CompositeArrayBuffer.join(data)),
  );
  const manifest = [{ paths: [`./${binName}`], weights: specs }];
  await writeJsonAtomic(`${dir}/${jsonName}`, {
    ...json,
    weightsManifest: manifest,
  });
}

/** Reads a pair written by `writeTensors` (one weights file); errors name the file. */
export async function readTensors(
  dir: string,
  part: keyof typeof FILES,
): Promise<{ tensors: Map<string, tf.Tensor>; json: ManifestFile }> {
  const path = `${dir}/${FILES[part][0]}`;
  const json = await readJson<ManifestFile>(path);
  const group = json.weightsManifest?.[0];
  if (!group) throw new Error(`${path}: no weightsManifest`);
  const specs = group.weights;
  const file = `${dir}/${group.paths[0].replace(/^\.\//, "")}`;
  const bytes = await Deno.readFile(file).catch((e) => {
    throw new Error(`${file}: cannot read: ${(e as Error).message}`);
  });
  const expected = specs.reduce(
    (n, s) =>
      n + s.shape.reduce((a, b) => a * b, 1) *
        (s.dtype === "float32" || s.dtype === "int32" ? 4 : 1),
    0,
  );
  if (bytes.byteLength !== expected) {
    throw new Error(
      `${path}: weights are ${bytes.byteLength} bytes, manifest says ${expected}`,
    );
  }
  const tensors = tf.io.decodeWeights(bytes.buffer, specs);
  return { tensors: new Map(Object.entries(tensors)), json };
}

/** What a checkpoint holds. */
export interface CheckpointData {
  /** Model variables by name (the `weights.bin` part). */
  weights: ReadonlyMap<string, tf.Tensor>;
  /** Training state tensors by name (optimizer slots, EMA). */
  state: ReadonlyMap<string, tf.Tensor>;
  /** JSON metadata: step, RNG state, anything a phase needs to resume. */
  meta: CheckpointMeta;
}

/** JSON part of a checkpoint. */
export interface CheckpointMeta {
  /** Steps completed. */
  step: number;
  /** Other resumable state (RNG, optimizer iterations, normaliser). */
  [key: string]: unknown;
}

/**
 * Saves a checkpoint folder `name` under `root` atomically and points
 * `root/latest` at it; keeps the newest `keep` checkpoints.
 */
export async function saveCheckpoint(
  root: string,
  name: string,
  data: CheckpointData,
  keep = 2,
): Promise<string> {
  const tmp = `${root}/.tmp-${name}-${Deno.pid}-${
    crypto.randomUUID().slice(0, 8)
  }`;
  await writeTensors(tmp, "model", data.weights, {
    format: "selftrain-checkpoint",
    generatedBy: "selftrain",
    userDefinedMetadata: { step: data.meta.step },
  });
  await writeTensors(tmp, "state", data.state, { meta: data.meta });
  const final = `${root}/${name}`;
  if (await exists(final)) await Deno.remove(final, { recursive: true });
  await Deno.rename(tmp, final);
  await writeFileAtomic(`${root}/${LATEST}`, name + "\n");
  await prune(root, name, keep);
  return final;
}

async function prune(
  root: string,
  current: string,
  keep: number,
): Promise<void> {
  for await (const e of Deno.readDir(root)) {
    // Leftover of a killed save by another process id.
    if (
      e.isDirectory && e.name.startsWith(".tmp-") &&
      !e.name.includes(`-${Deno.pid}-`)
    ) {
      await Deno.remove(`${root}/${e.name}`, { recursive: true });
    }
  }
  const names = await stepFolders(root);
  const old = names.filter((n) => n !== current)
    .slice(0, Math.max(0, names.length - keep));
  for (const n of old) await Deno.remove(`${root}/${n}`, { recursive: true });
}

/** The `step-*` folders under `root`, oldest first. */
async function stepFolders(root: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(root)) {
    if (e.isDirectory && e.name.startsWith("step-")) names.push(e.name);
  }
  return names.sort();
}

/** Checkpoint folder name for a step, sortable as text. */
export function stepName(step: number): string {
  return `step-${String(step).padStart(8, "0")}`;
}

/** Loads a checkpoint folder written by `saveCheckpoint`. */
export async function loadCheckpoint(dir: string): Promise<CheckpointData> {
  const model = await readTensors(dir, "model");
  const modelMeta = (model.json.userDefinedMetadata ?? {}) as CheckpointMeta;
  const state = await exists(`${dir}/${FILES.state[0]}`)
    ? await readTensors(dir, "state")
    : { tensors: new Map<string, tf.Tensor>(), json: { meta: modelMeta } };
  const meta = (state.json.meta ?? {}) as CheckpointMeta;
  return {
    weights: model.tensors,
    state: state.tensors,
    meta: { ...meta, step: Number(meta.step ?? modelMeta.step ?? 0) },
  };
}

/**
 * The newest loadable checkpoint folder under `root`, or `null`. Follows
 * `latest`, falling back to the newest `step-*` folder.
 */
export async function latestCheckpoint(root: string): Promise<string | null> {
  if (!(await exists(root))) return null;
  const candidates: string[] = [];
  if (await exists(`${root}/${LATEST}`)) {
    candidates.push((await Deno.readTextFile(`${root}/${LATEST}`)).trim());
  }
  candidates.push(...(await stepFolders(root)).reverse());
  for (const name of candidates) {
    const dir = `${root}/${name}`;
    if (name && await exists(`${dir}/${FILES.model[0]}`)) return dir;
  }
  return null;
}

/** Assigns checkpoint tensors to a module's variables; names must match. */
export function restoreModel(
  model: Module,
  weights: ReadonlyMap<string, tf.Tensor>,
  where = "checkpoint",
): void {
  for (const [name, v] of model.namedVariables()) {
    const t = weights.get(name);
    if (!t) throw new Error(`${where}: missing variable "${name}"`);
    if (t.shape.join("x") !== v.shape.join("x")) {
      throw new Error(
        `${where}: "${name}" has shape [${t.shape}], model expects [${v.shape}]`,
      );
    }
    v.assign(t);
  }
}

/** Frees the tensors of a loaded checkpoint. */
export function disposeCheckpoint(ck: CheckpointData): void {
  for (const t of [...ck.weights.values(), ...ck.state.values()]) t.dispose();
}
