/**
 * The keys every model section shares: the backbone plugin, its own config
 * (`backboneConfig`, filled from the plugin's defaults and
 * `--model.backboneConfig.*`), and the settings handed to every part of the
 * model (batch-norm momentum and epsilon, activation).
 */
import type { BackboneContext, SharedSettings } from "../core/contracts.ts";
import type { ConfigObject } from "../core/config.ts";

/** Backbone choice and the model's shared settings. */
export interface ModelBase {
  /** Backbone plugin. */
  backbone: string;
  /** The backbone's own config (its defaults plus overrides). */
  backboneConfig: ConfigObject;
  /** Batch-norm moving-average momentum of every part. */
  bnMomentum: number;
  /** Batch-norm epsilon of every part. */
  bnEpsilon: number;
  /** Activation of every part; `auto`: each part's own. */
  activation: string;
}

/** The shared-settings keys' defaults for short CPU runs (momentum 0.9). */
export const CPU_SHARED: Omit<ModelBase, "backbone"> = {
  backboneConfig: {},
  bnMomentum: 0.9,
  bnEpsilon: 1e-3,
  activation: "auto",
};

/** Meaning of the shared keys (the backbone key's is the recipe's). */
export const SHARED_HELP: Readonly<Record<string, string>> = {
  bnMomentum:
    "batch-norm moving-average momentum of backbone and head (0.99 for long runs; 0.9 suits short CPU runs)",
  bnEpsilon: "batch-norm epsilon of backbone and head",
  activation:
    "activation of backbone and head: auto (each part's own: swish for EfficientNet, relu otherwise), relu, swish or relu6",
};

/** Allowed activations. */
export const ACTIVATION_CHOICES: readonly string[] = [
  "auto",
  "relu",
  "swish",
  "relu6",
];

/** Allowed values of the string keys every `model.*` section has. */
export const MODEL_CHOICES: Readonly<Record<string, readonly string[]>> = {
  "model.activation": ACTIVATION_CHOICES,
};

/** The plugin-naming key every `model.*` section has. */
export const MODEL_PLUGINS: Readonly<Record<string, "backbone">> = {
  "model.backbone": "backbone",
};

/** The shared settings of a model section. */
export function sharedSettings(m: ModelBase): SharedSettings {
  if (!ACTIVATION_CHOICES.includes(m.activation)) {
    throw new Error(
      `activation must be one of ${
        ACTIVATION_CHOICES.join(", ")
      }, got "${m.activation}"`,
    );
  }
  return {
    bnMomentum: m.bnMomentum,
    bnEpsilon: m.bnEpsilon,
    activation: m.activation as SharedSettings["activation"],
  };
}

/**
 * The backbone's own config and context for `registry.create`: the
 * section's `backboneConfig` and shared settings, with the architecture
 * keys a checkpoint dictates (`model.init`) over both (its `activation` and
 * `bnEpsilon` go to the backbone's shared settings, not the head's).
 */
export function backboneArgs(
  m: ModelBase,
  fromCheckpoint: ConfigObject = {},
): { config: ConfigObject; ctx: BackboneContext } {
  const config: ConfigObject = { ...m.backboneConfig };
  const shared = sharedSettings(m);
  for (const [k, v] of Object.entries(fromCheckpoint)) {
    if (k === "activation" && typeof v === "string") {
      shared.activation = v as SharedSettings["activation"];
    } else if (k === "bnEpsilon" && typeof v === "number") {
      shared.bnEpsilon = v;
    } else config[k] = v;
  }
  return { config, ctx: { shared } };
}
