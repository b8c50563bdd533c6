/**
 * Runs a recipe: resolves its config (defaults + checked overrides), picks
 * the backend, prepares `--out`, records config and events, and writes the
 * report atomically. The CLI is a thin layer over `runRecipe`.
 */
import { selectBackend } from "./backend.ts";
import {
  applyOverrides,
  asTree,
  type ConfigLeaf,
  type ConfigObject,
} from "./config.ts";
import { EventBus } from "./events.ts";
import { writeJsonAtomic } from "./fs.ts";
import type { Registry } from "./registry.ts";

/** Options of `runRecipe`. */
export interface RunRecipeOptions {
  /** Registry holding the recipe, plugins and backends. */
  registry: Registry;
  /** Recipe name. */
  recipe: string;
  /** Dotted-key overrides (`{"train.steps": "100"}`). */
  overrides?: Readonly<Record<string, ConfigLeaf>>;
  /** Output folder; default `runs/<recipe>`. */
  out?: string;
  /** Backend name or `auto`. */
  backend?: string;
  /** Resume unfinished phases from their checkpoints. */
  resume?: boolean;
  /** Remove the output folder first. */
  fresh?: boolean;
  /** Event bus to use (so callers can attach displays, servers). */
  events?: EventBus;
}

/** Result of a run. */
export interface RunRecipeResult {
  /** Output folder. */
  out: string;
  /** The report the recipe returned. */
  report: Record<string, unknown>;
}

/**
 * Resolves a recipe's config: its defaults plus `overrides`, and for each
 * key that names a plugin (`Recipe.plugins`), that plugin's own config in
 * the section beside it (`model.backbone` → `model.backboneConfig`): the
 * plugin's defaults, the recipe's section (when the plugin is the recipe's
 * default one), then `--model.backboneConfig.*`.
 * An unknown key is a one-line error naming the valid ones.
 */
export function resolveConfig(
  registry: Registry,
  recipe: string,
  overrides: Readonly<Record<string, ConfigLeaf>> = {},
): ConfigObject {
  const r = registry.get("recipe", recipe);
  const slots = Object.entries(r.plugins ?? {});
  const slotOf = (k: string) =>
    slots.find(([key]) => k.startsWith(`${key}Config.`))?.[0];
  const entries = Object.entries(overrides);
  try {
    const own = Object.fromEntries(entries.filter(([k]) => !slotOf(k)));
    const config = asTree(applyOverrides(r.defaults, own, r.choices));
    for (const [key, kind] of slots) {
      const [parent, leaf] = splitKey(config, key);
      const name = String(parent[leaf]);
      const spec = registry.get(kind, name);
      const prefix = `${key}Config.`;
      const given = entries.filter(([k]) => slotOf(k) === key)
        .map(([k, v]) => [k.slice(prefix.length), v]);
      try {
        // The recipe's own section holds keys of its default plugin only.
        const [d, dLeaf] = splitKey(asTree(r.defaults), key);
        const section = name === d[dLeaf]
          ? (parent[`${leaf}Config`] ?? {}) as ConfigObject
          : {};
        parent[`${leaf}Config`] = applyOverrides(
          applyOverrides(spec.defaults, section, spec.choices),
          Object.fromEntries(given),
          spec.choices,
        );
      } catch (e) {
        throw new Error(
          `${kind} "${name}" (--${prefix}*): ${(e as Error).message}`,
        );
      }
    }
    return config;
  } catch (e) {
    throw new Error(`recipe ${recipe}: ${(e as Error).message}`);
  }
}

/** The section holding dotted `key` and the key's last part. */
function splitKey(config: ConfigObject, key: string): [ConfigObject, string] {
  const parts = key.split(".");
  let node = config;
  for (const p of parts.slice(0, -1)) node = node[p] as ConfigObject;
  return [node, parts[parts.length - 1]];
}

/** Runs a recipe end to end. */
export async function runRecipe(
  opts: RunRecipeOptions,
): Promise<RunRecipeResult> {
  const recipe = opts.registry.get("recipe", opts.recipe);
  const config = resolveConfig(opts.registry, opts.recipe, opts.overrides);
  const out = opts.out ?? `runs/${opts.recipe}`;
  if (opts.fresh) await Deno.remove(out, { recursive: true }).catch(() => {});
  await Deno.mkdir(out, { recursive: true });
  const events = opts.events ?? new EventBus();
  const backend = await selectBackend(
    opts.registry.entries("backend"),
    opts.backend ?? "auto",
  );
  events.emit({
    type: "log",
    message: `backend: ${backend.name} (${backend.why})`,
  });

  await writeJsonAtomic(`${out}/config.json`, {
    recipe: opts.recipe,
    backend: backend.name,
    config,
  });
  const log = await Deno.open(`${out}/events.jsonl`, {
    append: true,
    create: true,
  });
  const enc = new TextEncoder();
  const detach = events.on((e) => {
    log.writeSync(enc.encode(JSON.stringify({ t: Date.now(), ...e }) + "\n"));
  });
  const started = performance.now();
  events.emit({
    type: "run-start",
    recipe: opts.recipe,
    out,
    backend: backend.name,
    config,
  });
  let error: string | undefined;
  try {
    const report = await recipe.run({
      config,
      out,
      registry: opts.registry,
      events,
      backend,
      resume: opts.resume ?? false,
    });
    await writeJsonAtomic(`${out}/report.json`, report);
    return { out, report };
  } catch (e) {
    error = (e as Error).message;
    throw e;
  } finally {
    const seconds = (performance.now() - started) / 1000;
    events.emit({ type: "run-end", recipe: opts.recipe, seconds, error });
    detach();
    log.close();
  }
}
