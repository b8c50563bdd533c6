/**
 * Typed configuration trees and dotted-key overrides. A config is a plain
 * object of strings, numbers, booleans, lists of one of those, and nested
 * configs; its defaults fix every key and type, so `--train.lr=0.1` or
 * `--model.head.aspectRatios=1,2,0.5` is checked at once: an unknown key or
 * a value of the wrong type is a one-line error naming the valid keys.
 */

/** A single config value. */
export type ConfigScalar = string | number | boolean;

/** A leaf of a config: a scalar or a list of one scalar type. */
export type ConfigLeaf = ConfigScalar | number[] | string[] | boolean[];

/** A config tree. */
export interface ConfigObject {
  [key: string]: ConfigLeaf | ConfigObject;
}

/**
 * The shape every config type `C` must have: leaves or nested configs. An
 * interface satisfies it without an index signature.
 */
export type ConfigShape<C> = {
  [K in keyof C]: ConfigLeaf | ConfigShape<C[K]>;
};

/** Choices of string keys, by dotted key. */
export type ConfigChoices = Readonly<Record<string, readonly string[]>>;

/** A config type seen as a plain tree (for generic walking). */
export function asTree(config: object): ConfigObject {
  return config as ConfigObject;
}

function isSection(v: unknown): v is ConfigObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Flattens a config into `[dotted.key, value]` pairs, depth first. */
export function flattenConfig(
  config: object,
  prefix = "",
): [string, ConfigLeaf][] {
  return Object.entries(config).flatMap(([k, v]): [string, ConfigLeaf][] =>
    isSection(v) ? flattenConfig(v, `${prefix}${k}.`) : [[prefix + k, v]]
  );
}

/** Deep copy of a config. */
export function cloneConfig<C extends object>(config: C): C {
  return structuredClone(config);
}

/** A leaf as written on the command line (lists comma-separated). */
export function formatLeaf(value: ConfigLeaf): string {
  return Array.isArray(value) ? value.join(",") : String(value);
}

function coerceScalar(
  key: string,
  raw: string,
  example: ConfigScalar,
): ConfigScalar {
  if (typeof example === "number") {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n)) {
      throw new Error(`--${key} expects a number, got "${raw}"`);
    }
    return n;
  }
  if (typeof example === "boolean") {
    if (raw === "true" || raw === "") return true;
    if (raw === "false") return false;
    throw new Error(`--${key} expects true or false, got "${raw}"`);
  }
  return raw;
}

/**
 * Parses a command-line string as the type of `example`; a list is
 * comma-separated and each element is checked (an empty default list
 * takes numbers).
 */
export function coerceLeaf(
  key: string,
  raw: string,
  example: ConfigLeaf,
): ConfigLeaf {
  if (!Array.isArray(example)) return coerceScalar(key, raw, example);
  const parts = raw.trim() === "" ? [] : raw.split(",").map((s) => s.trim());
  return parts.map((p) => coerceScalar(key, p, example[0] ?? 0)) as ConfigLeaf;
}

function sameType(value: unknown, example: ConfigLeaf): boolean {
  if (!Array.isArray(example)) return typeof value === typeof example;
  if (!Array.isArray(value)) return false;
  const first = example.length ? example[0] : value[0];
  return value.every((v) => typeof v === typeof first);
}

/**
 * Sets `key` (dotted) in `config` to `value`, checking that the key exists
 * and the type matches the default. Mutates and returns `config`.
 */
export function setConfigKey<C extends object>(
  config: C,
  key: string,
  value: ConfigLeaf,
  choices: ConfigChoices = {},
): C {
  const parts = key.split(".");
  let node = asTree(config);
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (!isSection(next)) throw unknownKey(config, key);
    node = next;
  }
  const leaf = parts[parts.length - 1];
  const current = node[leaf];
  if (current === undefined || isSection(current)) {
    throw unknownKey(config, key);
  }
  const parsed = typeof value === "string" && typeof current !== "string"
    ? coerceLeaf(key, value, current)
    : value;
  if (!sameType(parsed, current)) {
    const type = !Array.isArray(current)
      ? typeof current
      : current.length
      ? `list of ${typeof current[0]}s`
      : "list";
    throw new Error(`--${key} expects a ${type}, got ${JSON.stringify(value)}`);
  }
  const allowed = choices[key];
  if (allowed && !allowed.includes(String(parsed))) {
    throw new Error(
      `--${key} must be one of ${allowed.join(", ")}, got "${parsed}"`,
    );
  }
  node[leaf] = parsed;
  return config;
}

function unknownKey(config: object, key: string): Error {
  const keys = flattenConfig(config).map(([k]) => k);
  return new Error(`unknown key "${key}"; valid keys: ${keys.join(", ")}`);
}

/**
 * Returns a copy of `defaults` with `overrides` (a partial tree, or dotted
 * keys) applied and checked.
 */
export function applyOverrides<C extends object>(
  defaults: C,
  overrides: Readonly<Record<string, ConfigLeaf>> | object,
  choices: ConfigChoices = {},
): C {
  const out = cloneConfig(defaults);
  for (const [k, v] of flattenConfig(overrides)) {
    setConfigKey(out, k, v, choices);
  }
  return out;
}
