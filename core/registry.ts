/**
 * The plugin registry. Plugins register factories by kind and name; a
 * duplicate name is rejected, and an unknown name fails at once with the list
 * of what is registered. A user's plugin is an ES module whose default export
 * is a `Plugin` (`loadPlugin` in `cli/plugins.ts` loads one for
 * `--plugin ./file.ts`), used exactly like the built-in ones.
 */
import type { BackendChoice, BackendProvider } from "./backend.ts";
import {
  type Augmenter,
  type Backbone,
  type BackboneContext,
  DEFAULT_SHARED,
  type Head,
  type HeadInputs,
  type Labeler,
  type Loss,
  type TensorTree,
} from "./contracts.ts";
import {
  applyOverrides,
  type ConfigChoices,
  type ConfigObject,
  type ConfigShape,
} from "./config.ts";
import type { EventBus } from "./events.ts";
import type { Dataset } from "./types.ts";

/**
 * A configurable factory. Its defaults fix the config's keys and types, and
 * its config type `C` is what `create` receives.
 */
export interface PluginSpec<C extends ConfigShape<C>, T, D = undefined> {
  /** Name used in recipes and on the command line. */
  readonly name: string;
  /** One line for `--list-plugins`. */
  readonly description: string;
  /** Default config; overrides must match its keys and types. */
  readonly defaults: C;
  /** Meaning of each config key, for `--help`. */
  readonly help?: Readonly<Record<string, string>>;
  /** Allowed values of string keys. */
  readonly choices?: ConfigChoices;
  /** Builds the plugin from a full config and its dependencies. */
  create(config: C, deps: D): T;
}

/** Train / val / unlabelled splits a dataset plugin provides. */
export interface DataSplits {
  /** Human-labelled training data. */
  train: Dataset;
  /** Held-out evaluation data. */
  val: Dataset;
  /** Unlabelled pool for self-training (targets ignored). */
  unlabeled?: Dataset;
  /** COCO-format ground truth of `val`, for detection evaluation. */
  valAnnotationsFile?: string;
  /** Held-out data for choosing hyper-parameters (disjoint from the others). */
  tune?: Dataset;
  /** COCO-format ground truth of `tune`. */
  tuneAnnotationsFile?: string;
}

/** What each configurable kind builds, and what `create` gets besides the config. */
export interface FactoryKinds {
  /** Feature extractors, handed the model's shared settings. */
  backbone: { builds: Backbone; deps: BackboneContext };
  /** Task heads. */
  head: { builds: Head<TensorTree, TensorTree>; deps: HeadInputs };
  /** Losses. */
  loss: { builds: Loss<TensorTree, TensorTree>; deps: undefined };
  /** Augmentation policies. */
  augmenter: { builds: Augmenter; deps: undefined };
  /** Pseudo-labelers. */
  labeler: { builds: Labeler; deps: undefined };
  /** Data sources (built-in generators, COCO, VOC, folders). */
  dataset: { builds: Promise<DataSplits>; deps: undefined };
}

/** Kinds whose entries are configurable factories. */
export type FactoryKind = keyof FactoryKinds;

/** The spec of a plugin of kind `K` whose config type is `C`. */
export type SpecOf<
  K extends FactoryKind,
  C extends ConfigShape<C> = ConfigObject,
> = PluginSpec<C, FactoryKinds[K]["builds"], FactoryKinds[K]["deps"]>;

/** Everything that can be registered, by kind. */
export type PluginKinds = { [K in FactoryKind]: SpecOf<K> } & {
  /** Compute backends. */
  backend: BackendProvider;
  /** Runnable compositions of plugins. */
  recipe: Recipe;
};

/** The dependencies argument of `Registry.create` for kind `K`. */
export type DepsArgs<K extends FactoryKind> = K extends "backbone"
  ? [ctx?: BackboneContext]
  : FactoryKinds[K]["deps"] extends undefined ? []
  : [deps: FactoryKinds[K]["deps"]];

/** What a recipe gets when it runs. */
export interface RecipeContext<C extends ConfigShape<C> = object> {
  /** Resolved config: defaults plus command-line overrides. */
  config: C;
  /** Folder that holds everything the run writes. */
  out: string;
  /** Registry with built-in and user plugins. */
  registry: Registry;
  /** Event bus (progress display, events.jsonl, status server listen). */
  events: EventBus;
  /** Backend the run uses. */
  backend: BackendChoice;
  /** Continue unfinished phases from their checkpoints. */
  resume: boolean;
}

/**
 * A typed composition of plugins. Its defaults fix every config key and
 * type; `help` explains each dotted key for `--help`.
 */
export interface Recipe<C extends ConfigShape<C> = object> {
  /** Name for `deno task recipe NAME`. */
  readonly name: string;
  /** One line for `--help`. */
  readonly description: string;
  /** Default config. */
  readonly defaults: C;
  /** Meaning of each dotted config key. */
  readonly help: Readonly<Record<string, string>>;
  /** Allowed values of string keys. */
  readonly choices?: ConfigChoices;
  /**
   * Keys that name a plugin, with its kind (`{"model.backbone": "backbone"}`);
   * its own config is the section `model.backboneConfig` (`resolveConfig`).
   */
  readonly plugins?: Readonly<Record<string, FactoryKind>>;
  /** Runs the recipe; returns its report (also written to `report.json`). */
  run(ctx: RecipeContext<C>): Promise<Record<string, unknown>>;
}

/** A plugin kind. */
export type PluginKind = keyof PluginKinds;

/** Every plugin kind, in display order. */
export const PLUGIN_KINDS: readonly PluginKind[] = [
  "backbone",
  "head",
  "loss",
  "augmenter",
  "labeler",
  "dataset",
  "backend",
  "recipe",
];

/** Name → plugin, per kind. */
export class Registry {
  readonly #entries = new Map<PluginKind, Map<string, unknown>>(
    PLUGIN_KINDS.map((k) => [k, new Map()]),
  );

  /**
   * Registers a plugin under its name; a duplicate name is an error. The
   * spec's config type is inferred from its defaults and types `create`.
   */
  register<K extends FactoryKind, C extends ConfigShape<C>>(
    kind: K,
    spec: SpecOf<K, C>,
  ): this;
  /** Registers a backend, a recipe, or an entry as `get` returns it. */
  register<K extends PluginKind>(kind: K, entry: PluginKinds[K]): this;
  register(kind: PluginKind, entry: { readonly name: string }): this {
    const table = this.#table(kind);
    if (table.has(entry.name)) {
      throw new Error(`${kind} "${entry.name}" is already registered`);
    }
    table.set(entry.name, entry);
    return this;
  }

  /** The entry `name` of `kind`; unknown names list what is registered. */
  get<K extends PluginKind>(kind: K, name: string): PluginKinds[K] {
    const entry = this.#table(kind).get(name);
    if (entry === undefined) {
      const known = this.list(kind);
      throw new Error(
        `unknown ${kind} "${name}"; registered: ${
          known.length ? known.join(", ") : "(none)"
        }`,
      );
    }
    return entry as PluginKinds[K];
  }

  /** True when `name` is registered for `kind`. */
  has(kind: PluginKind, name: string): boolean {
    return this.#table(kind).has(name);
  }

  /** Registered names of `kind`, sorted. */
  list(kind: PluginKind): string[] {
    return [...this.#table(kind).keys()].sort();
  }

  /** All entries of `kind`. */
  entries<K extends PluginKind>(kind: K): PluginKinds[K][] {
    return [...this.#table(kind).values()] as PluginKinds[K][];
  }

  /**
   * Builds plugin `name` of `kind` from its defaults plus `overrides`; a
   * backbone built without a context gets `DEFAULT_SHARED`.
   */
  create<K extends FactoryKind>(
    kind: K,
    name: string,
    overrides: object = {},
    ...deps: DepsArgs<K>
  ): FactoryKinds[K]["builds"] {
    const spec: SpecOf<K> = this.get(kind, name);
    let config: ConfigObject;
    try {
      config = applyOverrides(spec.defaults, overrides, spec.choices);
    } catch (e) {
      throw new Error(`${kind} "${name}": ${(e as Error).message}`);
    }
    const dep = deps[0] ??
      (kind === "backbone" ? { shared: DEFAULT_SHARED } : undefined);
    return spec.create(config, dep as FactoryKinds[K]["deps"]);
  }

  /** Installs a plugin (its `setup` registers entries). */
  use(plugin: Plugin): this {
    plugin.setup(this);
    return this;
  }

  #table(kind: PluginKind): Map<string, unknown> {
    const table = this.#entries.get(kind);
    if (!table) {
      throw new Error(`unknown plugin kind "${kind}"; kinds: ${PLUGIN_KINDS}`);
    }
    return table;
  }
}

/** A bundle of registrations, the unit a user ships. */
export interface Plugin {
  /** Plugin name, for messages. */
  readonly name: string;
  /** Registers the plugin's entries. */
  setup(registry: Registry): void;
}

/** Identity helper that types a plugin object. */
export function definePlugin(plugin: Plugin): Plugin {
  return plugin;
}
