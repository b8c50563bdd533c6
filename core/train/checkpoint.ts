/**
 * Checkpoints in the standard TensorFlow.js weights format (`model.json` +
 * `weights.bin`), written through a Deno file IO handler, plus the training
 * state needed to resume exactly (`training_state.json` + `.bin`: optimizer
 * slots, EMA, step, RNG state).
 *
 * A checkpoint is a folder written under a temp name and renamed into place;
 * `latest` (a one-line file, itself written atomically) names the newest one.
 * A run killed at any moment leaves at worst an ignored temp folder.
 */
import * as tf from "@tensorflow/tfjs-core";
import { exists, readJson, writeFileAtomic, writeJsonAtomic } from "../fs.ts";
import type { Module } from "../nn/module.ts";

const MODEL_JSON = "model.json";
const WEIGHTS_BIN = "weights.bin";
const STATE_JSON = "training_state.json";
const STATE_BIN = "training_state.bin";
const LATEST = "latest";

/**
 * A tfjs `IOHandler` that saves and loads `model.json` + `weights.bin` in a
 * folder with Deno's file API (usable with any tfjs API taking a handler).
 */
export class DenoFileHandler implements tf.io.IOHandler {
  readonly #dir: string;

  /** Handler for folder `dir`. */
  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Writes the artifacts (each file atomically). */
  async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    await Deno.mkdir(this.#dir, { recursive: true });
    const data = artifacts.weightData
      ? new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData))
      : new Uint8Array();
    await writeFileAtomic(`${this.#dir}/${WEIGHTS_BIN}`, data);
    const json = {
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy ?? null,
      modelTopology: artifacts.modelTopology ?? null,
      weightsManifest: [{
        paths: [`./${WEIGHTS_BIN}`],
        weights: artifacts.weightSpecs ?? [],
      }],
      userDefinedMetadata: artifacts.userDefinedMetadata,
    };
    await writeJsonAtomic(`${this.#dir}/${MODEL_JSON}`, json);
    return {
      modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts),
    };
  }

  /** Reads the artifacts back; errors name the file. */
  async load(): Promise<tf.io.ModelArtifacts> {
    const path = `${this.#dir}/${MODEL_JSON}`;
    const json = await readJson<{
      format?: string;
      generatedBy?: string;
      modelTopology?: unknown;
      weightsManifest?: tf.io.WeightsManifestConfig;
      userDefinedMetadata?: Record<string, unknown>;
    }>(path);
    const manifest = json.weightsManifest;
    if (!Array.isArray(manifest)) {
      throw new Error(`${path}: no weightsManifest`);
    }
    const specs: tf.io.WeightsManifestEntry[] = [];
    const buffers: Uint8Array[] = [];
    for (const group of manifest) {
      specs.push(...group.weights);
      for (const p of group.paths) {
        const file = `${this.#dir}/${p.replace(/^\.\//, "")}`;
        try {
          buffers.push(await Deno.readFile(file));
        } catch (e) {
          throw new Error(`${file}: cannot read: ${(e as Error).message}`);
        }
      }
    }
    const weightData = concat(buffers);
    const expected = specs.reduce((n, s) => n + byteSize(s), 0);
    if (weightData.byteLength !== expected) {
      throw new Error(
        `${path}: weights are ${weightData.byteLength} bytes, manifest says ${expected}`,
      );
    }
    return {
      format: json.format,
      generatedBy: json.generatedBy,
      modelTopology: json
        .modelTopology as tf.io.ModelArtifacts["modelTopology"],
      weightSpecs: specs,
      weightData: weightData.buffer as ArrayBuffer,
      userDefinedMetadata: json.userDefinedMetadata as Record<string, never>,
    };
  }
}

function byteSize(spec: tf.io.WeightsManifestEntry): number {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const bytes = spec.dtype === "float32" || spec.dtype === "int32" ? 4 : 1;
  return n * bytes;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
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

async function saveTensors(
  dir: string,
  tensors: ReadonlyMap<string, tf.Tensor>,
  meta: Record<string, unknown>,
  kind: "model" | "state",
): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(
    Object.fromEntries(tensors),
  );
  if (kind === "model") {
    await new DenoFileHandler(dir).save({
      format: "selftrain-checkpoint",
      generatedBy: "selftrain",
      weightSpecs: specs,
      weightData: data,
      userDefinedMetadata: meta as Record<string, never>,
    });
    return;
  }
  await writeFileAtomic(
    `${dir}/${STATE_BIN}`,
    new Uint8Array(data as ArrayBuffer),
  );
  await writeJsonAtomic(`${dir}/${STATE_JSON}`, {
    weightsManifest: [{ paths: [`./${STATE_BIN}`], weights: specs }],
    meta,
  });
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
  await Deno.mkdir(root, { recursive: true });
  const tmp = `${root}/.tmp-${name}-${Deno.pid}-${
    crypto.randomUUID().slice(0, 8)
  }`;
  await saveTensors(tmp, data.weights, { step: data.meta.step }, "model");
  await saveTensors(tmp, data.state, data.meta, "state");
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
  const names: string[] = [];
  for await (const e of Deno.readDir(root)) {
    if (e.isDirectory && e.name.startsWith("step-")) names.push(e.name);
    else if (e.isDirectory && e.name.startsWith(".tmp-")) {
      // Leftover of a killed save by another process id.
      if (!e.name.includes(`-${Deno.pid}-`)) {
        await Deno.remove(`${root}/${e.name}`, { recursive: true });
      }
    }
  }
  names.sort();
  const old = names.filter((n) => n !== current).slice(
    0,
    Math.max(0, names.length - keep),
  );
  for (const n of old) await Deno.remove(`${root}/${n}`, { recursive: true });
}

/** Checkpoint folder name for a step, sortable as text. */
export function stepName(step: number): string {
  return `step-${String(step).padStart(8, "0")}`;
}

async function readTensors(
  dir: string,
  kind: "model" | "state",
): Promise<{ tensors: Map<string, tf.Tensor>; meta: Record<string, unknown> }> {
  if (kind === "model") {
    const art = await new DenoFileHandler(dir).load();
    const map = tf.io.decodeWeights(art.weightData!, art.weightSpecs!);
    return {
      tensors: new Map(Object.entries(map)),
      meta: (art.userDefinedMetadata ?? {}) as Record<string, unknown>,
    };
  }
  const path = `${dir}/${STATE_JSON}`;
  const json = await readJson<{
    weightsManifest: tf.io.WeightsManifestConfig;
    meta: Record<string, unknown>;
  }>(path);
  const specs = json.weightsManifest[0].weights;
  const bytes = await Deno.readFile(`${dir}/${STATE_BIN}`);
  const expected = specs.reduce((n, s) => n + byteSize(s), 0);
  if (bytes.byteLength !== expected) {
    throw new Error(
      `${path}: state is ${bytes.byteLength} bytes, manifest says ${expected}`,
    );
  }
  const map = tf.io.decodeWeights(bytes.slice().buffer, specs);
  return { tensors: new Map(Object.entries(map)), meta: json.meta };
}

/** Loads a checkpoint folder written by `saveCheckpoint`. */
export async function loadCheckpoint(dir: string): Promise<CheckpointData> {
  const model = await readTensors(dir, "model");
  let state: Awaited<ReturnType<typeof readTensors>> = {
    tensors: new Map(),
    meta: model.meta,
  };
  if (await exists(`${dir}/${STATE_JSON}`)) {
    state = await readTensors(dir, "state");
  }
  return {
    weights: model.tensors,
    state: state.tensors,
    meta: {
      ...state.meta,
      step: Number(state.meta.step ?? model.meta.step ?? 0),
    },
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
  const names: string[] = [];
  for await (const e of Deno.readDir(root)) {
    if (e.isDirectory && e.name.startsWith("step-")) names.push(e.name);
  }
  candidates.push(...names.sort().reverse());
  for (const name of candidates) {
    const dir = `${root}/${name}`;
    if (name && await exists(`${dir}/${MODEL_JSON}`)) return dir;
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

/**
 * Loads the weights of checkpoint `dir` into `model`: a `step-*` folder, or
 * a phase's `checkpoints/` folder (its newest checkpoint).
 */
export async function loadModelWeights(
  model: Module,
  dir: string,
): Promise<void> {
  const path = await exists(`${dir}/${MODEL_JSON}`)
    ? dir
    : await latestCheckpoint(dir);
  if (!path) {
    throw new Error(
      `${dir}: no checkpoint to load (delete the phase's metrics.json to retrain it)`,
    );
  }
  const ck = await loadCheckpoint(path);
  try {
    restoreModel(model, ck.weights, path);
  } finally {
    for (const t of [...ck.weights.values(), ...ck.state.values()]) t.dispose();
  }
}
