/**
 * `deno task recipe NAME [--key=value ...]`: runs a recipe.
 *
 *   --help                 recipes, or NAME's config keys with defaults
 *   --list-plugins         what is registered, by kind
 *   --plugin FILE|URL      load a user plugin (repeatable)
 *   --out DIR              where the run writes (default runs/NAME)
 *   --backend NAME         auto (default), tensorflow-gpu, tensorflow, native, wasm, cpu
 *   --resume               continue unfinished phases from their checkpoints
 *   --fresh                delete --out first
 *   --serve[=ADDR]         status server beside the run: HOST:PORT, :PORT, PORT or
 *                          HOST (default 127.0.0.1:8787; deno task serve takes the same)
 *   --serve-token TOKEN    bearer token (required off loopback; or SELFTRAIN_TOKEN)
 */
import { parseArgs } from "node:util";
import {
  type ConfigObject,
  flattenConfig,
  formatLeaf,
} from "../core/config.ts";
import { EventBus } from "../core/events.ts";
import { attachProgress, stderrSink } from "./progress.ts";
import { PLUGIN_KINDS, type Recipe, type Registry } from "../core/registry.ts";
import { loadPlugin } from "./plugins.ts";
import { resolveConfig, runRecipe } from "../core/runner.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";

const KNOWN = {
  help: { type: "boolean" },
  "list-plugins": { type: "boolean" },
  plugin: { type: "string", multiple: true },
  out: { type: "string" },
  backend: { type: "string" },
  resume: { type: "boolean" },
  fresh: { type: "boolean" },
  serve: { type: "string" },
  "serve-token": { type: "string" },
} as const;

/** Parsed command line. */
export interface RecipeArgs {
  /** Recipe name (first positional). */
  recipe?: string;
  /** Known flags. */
  flags: {
    help?: boolean;
    "list-plugins"?: boolean;
    plugin?: string[];
    out?: string;
    backend?: string;
    resume?: boolean;
    fresh?: boolean;
    serve?: string;
    "serve-token"?: string;
  };
  /** Dotted config overrides. */
  overrides: Record<string, string>;
}

/** Splits the command line into flags, recipe name and config overrides. */
export function parseRecipeArgs(argv: string[]): RecipeArgs {
  // `--serve` may come bare; give it a value so parseArgs accepts it.
  const args = argv.map((
    a,
  ) => (a === "--serve" ? "--serve=127.0.0.1:8787" : a));
  const { values, positionals, tokens } = parseArgs({
    args,
    options: KNOWN,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const overrides: Record<string, string> = {};
  const positional: string[] = [];
  const list = tokens ?? [];
  for (let i = 0; i < list.length; i++) {
    const t = list[i];
    if (t.kind !== "option" || t.name in KNOWN) continue;
    if (t.value !== undefined) {
      overrides[t.name] = t.value;
      continue;
    }
    // `--key value` form: take the next positional token as the value.
    const next = list[i + 1];
    if (next?.kind === "positional") {
      overrides[t.name] = next.value;
      i++;
      positional.push(`\u0000${next.index}`);
    } else overrides[t.name] = "true";
  }
  const consumed = new Set(positional.map((p) => Number(p.slice(1))));
  const names = list.filter((t) =>
    t.kind === "positional" && !consumed.has(t.index)
  )
    .map((t) => (t as { value: string }).value);
  void positionals;
  if (names.length > 1) {
    throw new Error(`one recipe at a time; got ${names.join(", ")}`);
  }
  return { recipe: names[0], flags: values as RecipeArgs["flags"], overrides };
}

/** Help and choices of the chosen plugins' own keys (`model.backboneConfig.*`). */
function pluginKeyHelp(
  registry: Registry,
  recipe: Recipe,
  config: ConfigObject,
): {
  help: Record<string, string>;
  choices: Record<string, readonly string[]>;
} {
  const help: Record<string, string> = {};
  const choices: Record<string, readonly string[]> = {};
  for (const [key, kind] of Object.entries(recipe.plugins ?? {})) {
    const name = String(flattenConfig(config).find(([k]) => k === key)?.[1]);
    const spec = registry.get(kind, name);
    for (const [k] of flattenConfig(spec.defaults)) {
      help[`${key}Config.${k}`] = `${kind} ${name}: ${
        spec.help?.[k] ?? "(undocumented)"
      }`;
    }
    for (const [k, v] of Object.entries(spec.choices ?? {})) {
      choices[`${key}Config.${k}`] = v;
    }
  }
  return { help, choices };
}

function helpText(
  registry: Registry,
  name?: string,
  overrides: Record<string, string> = {},
): string {
  const lines: string[] = [];
  if (!name) {
    lines.push(
      "usage: deno task recipe NAME [--key=value ...] [--out DIR] [--backend auto|...]",
    );
    lines.push("", "recipes:");
    for (const r of registry.entries("recipe")) {
      lines.push(`  ${r.name.padEnd(22)} ${r.description}`);
    }
    lines.push("", "deno task recipe NAME --help lists NAME's config keys.");
    return lines.join("\n");
  }
  const r = registry.get("recipe", name);
  const config = resolveConfig(registry, name, overrides);
  const plugin = pluginKeyHelp(registry, r, config);
  const help = { ...r.help, ...plugin.help };
  const allChoices = { ...r.choices, ...plugin.choices };
  lines.push(
    `${r.name}: ${r.description}`,
    "",
    "config keys (--key=value; lists comma-separated), with the values this command line gives:",
  );
  for (const [key, value] of flattenConfig(config)) {
    const choices = allChoices[key] ? ` [${allChoices[key].join("|")}]` : "";
    const shown = Array.isArray(value)
      ? formatLeaf(value)
      : JSON.stringify(value);
    lines.push(`  --${key}=${shown}${choices}`);
    lines.push(`      ${help[key] ?? "(undocumented)"}`);
  }
  return lines.join("\n");
}

function pluginList(registry: Registry): string {
  return PLUGIN_KINDS.map((k) => {
    const rows = registry.entries(k).map((e) =>
      `  ${e.name.padEnd(22)} ${e.description}`
    );
    return `${k}:\n${rows.join("\n") || "  (none)"}`;
  }).join("\n");
}

async function main(argv: string[]): Promise<number> {
  const args = parseRecipeArgs(argv);
  const registry = createBuiltinRegistry();
  for (const p of args.flags.plugin ?? []) await loadPlugin(p, registry);
  if (args.flags["list-plugins"]) {
    console.log(pluginList(registry));
    return 0;
  }
  if (args.flags.help || !args.recipe) {
    console.log(helpText(registry, args.recipe, args.overrides));
    return args.recipe || args.flags.help ? 0 : 2;
  }
  const events = new EventBus();
  attachProgress(events, stderrSink());
  let stopServer: (() => Promise<void>) | undefined;
  if (args.flags.serve) {
    const { startServerFromFlag } = await import("./serve_flag.ts");
    stopServer = await startServerFromFlag(
      args.flags.serve,
      args.flags["serve-token"],
      events,
    );
  }
  try {
    const { out, report } = await runRecipe({
      registry,
      recipe: args.recipe,
      overrides: args.overrides,
      out: args.flags.out,
      backend: args.flags.backend,
      resume: args.flags.resume,
      fresh: args.flags.fresh,
      events,
    });
    console.log(`report: ${out}/report.json`);
    if (typeof report.summary === "string") console.log(report.summary);
  } finally {
    await stopServer?.();
  }
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
