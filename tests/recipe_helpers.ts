/**
 * Shared pieces of the detection recipe end-to-end tests: a tiny synthetic
 * set (64 px, a few dozen images), overrides that make the detector and its
 * training tiny, a registry whose `synthetic-shapes` defaults to that tiny
 * set, and readers for the files a run writes.
 */
import type { ConfigObject } from "../core/config.ts";
import {
  PLUGIN_KINDS,
  type PluginKind,
  type PluginKinds,
  Registry,
} from "../core/registry.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";
import { runRecipe } from "../core/runner.ts";
import { ensureSyntheticSeg } from "../plugins/voc/mod.ts";
import {
  ensureSyntheticData,
  SYNTHETIC_DATA_DEFAULTS,
  type SyntheticOptions,
  type SyntheticPaths,
} from "../plugins/synthetic/mod.ts";

/** Generator options of the tiny set (cached under .cache/ by their hash). */
export const TINY_SET: Partial<SyntheticOptions> = {
  seed: 0,
  imageSize: 64,
  classes: 3,
  train: 12,
  val: 8,
  unlabeled: 18,
  tune: 6,
  minSize: 12,
  maxSize: 32,
  maxObjects: 2,
  clutter: 2,
};

/** Cache folder of the tiny set (the built-in default one). */
export const TINY_CACHE = String(SYNTHETIC_DATA_DEFAULTS.cacheDir);

/** Generates (once) the tiny set, with `changes`, and returns its paths. */
export function tinySet(
  changes: Partial<SyntheticOptions> = {},
): Promise<SyntheticPaths> {
  return ensureSyntheticData({ ...TINY_SET, ...changes }, TINY_CACHE);
}

/** `data.*` overrides that point a detection recipe at a tiny set as COCO files. */
export async function tinyCocoData(
  changes: Partial<SyntheticOptions> = {},
): Promise<Record<string, string>> {
  const p = await tinySet(changes);
  return {
    "data.train": p.train,
    "data.trainImages": p.trainImages,
    "data.val": p.val,
    "data.valImages": p.valImages,
    "data.unlabeled": p.unlabeled,
    "data.unlabeledImages": p.unlabeledImages,
    "data.tune": p.tune,
    "data.tuneImages": p.tuneImages,
  };
}

/** Model overrides shared by every tiny run. */
export const TINY_MODEL: Readonly<Record<string, string>> = {
  "data.inputSize": "64",
  "model.head.filters": "16",
  "model.head.convs": "1",
  // A teacher trained for a few steps scores about 0.01: keep its boxes.
  "model.head.scoreThreshold": "0.001",
};

/** Train-section overrides (prefix `train`, `teacher` or `student`). */
export function tinyTrain(
  prefix: string,
  steps: number,
): Record<string, string> {
  return {
    [`${prefix}.steps`]: String(steps),
    [`${prefix}.batchSize`]: "4",
    [`${prefix}.warmupSteps`]: "1",
    [`${prefix}.checkpointEvery`]: "2",
  };
}

/** Overrides of every tiny self-training run. */
export const TINY_SELFTRAIN: Readonly<Record<string, string>> = {
  ...TINY_MODEL,
  ...tinyTrain("teacher", 4),
  ...tinyTrain("student", 3),
  // An untrained teacher scores low: a low threshold still yields boxes.
  "pseudo.threshold": "0.001",
  "pseudo.batchSize": "4",
};

/**
 * Runs `recipe` in-process into `out` with `overrides`, on `tinyRegistry()`
 * (the built-in plugins, `synthetic-shapes` the tiny set) and `backend`.
 */
export function runTiny(
  recipe: string,
  out: string,
  overrides: Record<string, string>,
  backend = "wasm",
): ReturnType<typeof runRecipe> {
  return runRecipe({
    registry: tinyRegistry(),
    recipe,
    out,
    backend,
    overrides,
  });
}

/** Runs `coco-selftrain` in-process on the tiny set (wasm), with `extra` overrides. */
export function runTinySelfTrain(
  out: string,
  extra: Record<string, string> = {},
): ReturnType<typeof runRecipe> {
  return runTiny("coco-selftrain", out, { ...TINY_SELFTRAIN, ...extra });
}

/** Every built-in plugin, with `synthetic-shapes` defaulting to the tiny set. */
export function tinyRegistry(): Registry {
  const base = createBuiltinRegistry();
  const registry = new Registry();
  for (const kind of PLUGIN_KINDS) {
    for (const entry of base.entries(kind)) {
      registry.register(kind, tinyEntry(kind, entry));
    }
  }
  return registry;
}

function tinyEntry<K extends PluginKind>(
  kind: K,
  entry: PluginKinds[K],
): PluginKinds[K] {
  const spec = entry as PluginKinds[K] & { defaults: ConfigObject };
  if (kind === "dataset" && entry.name === "synthetic-shapes") {
    return { ...spec, defaults: { ...spec.defaults, ...TINY_SET } };
  }
  return entry;
}

/**
 * A synthetic segmentation set in the VOC layout, cached under `cache`:
 * 32 px images with objects of 8 to 20 px and the split sizes `splits`;
 * its root.
 */
export function tinySegSet(
  cache: string,
  splits: { train: number; tune: number; val: number; unlabeled: number },
): Promise<string> {
  return ensureSyntheticSeg(
    { imageSize: 32, ...splits, minSize: 8, maxSize: 20 },
    cache,
  );
}

/**
 * Runs `body` with a fresh `tinySegSet` of `splits` (its root) and an empty
 * run folder, both temporary and removed afterwards.
 */
export async function withTinySegSet(
  splits: Parameters<typeof tinySegSet>[1],
  body: (root: string, out: string) => Promise<void>,
): Promise<void> {
  const cache = await Deno.makeTempDir();
  const out = await Deno.makeTempDir();
  try {
    await body(await tinySegSet(cache, splits), out);
  } finally {
    await Deno.remove(cache, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
}

/** A fresh temporary run folder. */
export function tempOut(prefix: string): Promise<string> {
  return Deno.makeTempDir({ prefix: `recipe_${prefix}_` });
}

/** One event of `events.jsonl`. */
export interface LoggedEvent {
  /** Event type. */
  type: string;
  /** Phase, when the event has one. */
  phase?: string;
  /** True on a `phase-end` of a phase that had already finished. */
  skipped?: boolean;
  /** Other fields. */
  [key: string]: unknown;
}

/** Reads `<out>/events.jsonl`. */
export async function readEvents(out: string): Promise<LoggedEvent[]> {
  const text = await Deno.readTextFile(`${out}/events.jsonl`);
  return text.split("\n").filter((l) => l.trim()).map((l) =>
    JSON.parse(l) as LoggedEvent
  );
}

/** Reads a JSON file. */
export async function readJsonFile<T>(path: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(path)) as T;
}

/**
 * Runs `deno <args>` and kills it with SIGKILL as soon as its stderr shows a
 * line matching `pattern`; returns its exit status and the stderr seen.
 */
export async function killWhen(
  args: string[],
  pattern: RegExp,
): Promise<{ status: Deno.CommandStatus; seen: string; killed: boolean }> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let seen = "";
  let killed = false;
  for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
    seen += text;
    if (!killed && pattern.test(seen)) {
      child.kill("SIGKILL");
      killed = true;
    }
  }
  return { status: await child.status, seen, killed };
}

/**
 * `deno` arguments running the tiny `coco-selftrain` through the CLI
 * (wasm backend, the tiny set as COCO files) with `overrides` and flags.
 */
export function selfTrainCliArgs(
  out: string,
  overrides: Record<string, string>,
  flags: string[] = [],
): string[] {
  return [
    "run",
    "-A",
    "cli/recipe.ts",
    "coco-selftrain",
    "--out",
    out,
    "--backend",
    "wasm",
    ...flags,
    ...Object.entries(overrides).map(([k, v]) => `--${k}=${v}`),
  ];
}
