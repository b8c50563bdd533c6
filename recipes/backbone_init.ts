/**
 * `model.init` and `model.freezeAt` of the detection and segmentation
 * recipes, in one place: check the checkpoint once before anything trains,
 * build every model of the run (teacher, student, baseline) with the
 * architecture the checkpoint dictates, load its backbone weights, freeze
 * the stem and first stages, and record what was used in `init.json` (read
 * back by `deno task predict`) and the reports.
 */
import { resolve } from "node:path";
import type { ConfigObject } from "../core/config.ts";
import type { EventBus } from "../core/events.ts";
import { exists, readJson, writeJsonAtomic } from "../core/fs.ts";
import type { TaskModel } from "../core/model.ts";
import type { Registry } from "../core/registry.ts";
import {
  type BackboneManifest,
  disposeBackboneCheckpoint,
  freezeStages,
  initBackbone,
  initOverrides,
  MANIFEST_FILE,
  readBackboneCheckpoint,
  validateManifest,
} from "../plugins/pretrain/mod.ts";

/** File in a run folder recording the run's initialisation. */
export const INIT_FILE = "init.json";

/** The keys every detection / segmentation `model.*` section has. */
export interface InitKeys {
  /** Backbone plugin. */
  backbone: string;
  /** `random` or a backbone checkpoint folder. */
  init: string;
  /** −1: train everything; N ≥ 0: freeze the stem and the first N stages. */
  freezeAt: number;
}

/** Defaults: random initialisation, nothing frozen. */
export const INIT_DEFAULTS: { init: string; freezeAt: number } = {
  init: "random",
  freezeAt: -1,
};

/** Meaning of `model.init` and `model.freezeAt`. */
export const INIT_HELP: Readonly<Record<string, string>> = {
  init:
    "random, or a backbone checkpoint folder (backbone.json + model.json + weights.bin: pretrain-* recipes, deno task import-weights); teacher, student and baseline all start from it",
  freezeAt:
    "-1 trains everything; N >= 0 freezes the stem and the first N stages (weights and batch norm fixed, as detectron2's FREEZE_AT)",
};

/** What a run's initialisation was, for `init.json` and the reports. */
export interface InitRecord {
  /** `random` or the checkpoint folder as given. */
  init: string;
  /** Absolute checkpoint folder (absent for random). */
  path?: string;
  /** The checkpoint's architecture. */
  architecture?: string;
  /** Where the checkpoint came from (recipe, dataset, steps, seed; or torchvision). */
  provenance?: BackboneManifest["provenance"];
  /** Backbone config keys taken from the checkpoint. */
  overrides: ConfigObject;
  /** Stem + first N stages frozen (−1: none). */
  freezeAt: number;
}

/** The run's initialisation, checked and ready to apply to each model. */
export interface RunInit {
  /** What it is (also written to `init.json`). */
  record: InitRecord;
  /** Loads the checkpoint into a freshly built model's backbone and freezes; returns the model. */
  apply(model: TaskModel): Promise<TaskModel>;
}

/**
 * Reads and checks `m.init` (manifest, architecture against `m.backbone`)
 * before anything trains, and writes `<out>/init.json`.
 */
export async function prepareInit(
  registry: Registry,
  m: InitKeys,
  out: string,
  events?: EventBus,
): Promise<RunInit> {
  const record: InitRecord = {
    init: m.init,
    overrides: {},
    freezeAt: m.freezeAt,
  };
  let dir: string | null = null;
  if (m.init !== "random") {
    dir = resolve(m.init);
    const file = `${dir}/${MANIFEST_FILE}`;
    if (!(await exists(file))) {
      throw new Error(
        `model.init: ${file} not found (give "random" or a backbone checkpoint folder)`,
      );
    }
    const manifest = validateManifest(file, await readJson<unknown>(file));
    const declared = registry.get("backbone", m.backbone).defaults;
    record.path = dir;
    record.architecture = manifest.architecture;
    record.provenance = manifest.provenance;
    record.overrides = initOverrides(m.backbone, declared, manifest, dir);
  }
  await writeJsonAtomic(`${out}/${INIT_FILE}`, record);
  let logged = false;
  return {
    record,
    async apply(model) {
      let loaded = 0;
      if (dir) {
        const ck = await readBackboneCheckpoint(dir);
        try {
          loaded = initBackbone(model.backbone, ck, {
            dir,
            architecture: m.backbone,
          });
        } finally {
          disposeBackboneCheckpoint(ck);
        }
      }
      const frozen = freezeStages(model.backbone, m.freezeAt, m.backbone);
      if (!logged && (dir || frozen.length)) {
        logged = true;
        events?.emit({
          type: "log",
          message: `init: ${
            dir
              ? `${loaded} backbone variables from ${dir} (${record.provenance?.source})`
              : "random"
          }${
            Object.keys(record.overrides).length
              ? `, backbone built with ${JSON.stringify(record.overrides)}`
              : ""
          }${frozen.length ? `; frozen: ${frozen.join(", ")}` : ""}`,
        });
      }
      return model;
    },
  };
}

/**
 * Backbone config overrides recorded in a run folder's `init.json` (none
 * for runs without one), so a run's checkpoints rebuild the same model.
 */
export async function recordedOverrides(runDir: string): Promise<ConfigObject> {
  const file = `${runDir}/${INIT_FILE}`;
  if (!(await exists(file))) return {};
  const r = await readJson<Partial<InitRecord>>(file);
  if (typeof r.overrides !== "object" || r.overrides === null) {
    throw new Error(`${file}: no overrides object`);
  }
  return r.overrides;
}

/** One line naming a run's initialisation, for reports. */
export function describeInit(r: InitRecord): string {
  const base = r.path
    ? `${r.path} (${r.architecture}; ${
      Object.entries(r.provenance ?? {}).map(([k, v]) =>
        `${k} ${typeof v === "string" ? v : JSON.stringify(v)}`
      ).join(", ")
    })`
    : "random";
  return r.freezeAt >= 0 ? `${base}; stem + ${r.freezeAt} stages frozen` : base;
}
