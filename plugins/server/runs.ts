/**
 * Reads finished (or running) runs from a runs folder laid out as
 * `<runs>/<id>/{config.json, report.json, events.jsonl, <phase>/metrics.json,
 * samples/}`. A folder that itself holds `config.json` is a single run; a
 * study folder (`study.json`) lists its cells and pre-training runs.
 * Missing files read as `null`; malformed JSON is an error naming the file.
 */
import { basename, join } from "node:path";
import type { RunEvent } from "../../core/events.ts";
import { exists, readJson } from "../../core/fs.ts";
import { STUDY_FILE } from "../../study/runner.ts";

/** A run in a listing. */
export interface RunSummary {
  /** Folder name, used in URLs. */
  id: string;
  /** Recipe from `report.json` or `config.json`, if known. */
  recipe: string | null;
  /** True when `report.json` exists. */
  finished: boolean;
  /** Last modification of the folder, ms since the epoch. */
  mtimeMs: number | null;
}

/** Everything the API returns about one run. */
export interface RunDetail {
  /** Folder name. */
  id: string;
  /** `config.json`, if present. */
  config: Record<string, unknown> | null;
  /** `<phase>/metrics.json` by phase name. */
  metrics: Record<string, Record<string, number>>;
  /** `report.json`, if present. */
  report: Record<string, unknown> | null;
  /** Image files under `samples/`, relative to it, sorted. */
  samples: string[];
}

/** Extensions served as sample images. */
export const IMAGE_TYPES: Readonly<Record<string, string>> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
};

/** True when `id` is a plain folder name (no separators, dots or NUL). */
export function isSafeRunId(id: string): boolean {
  return id.length > 0 && id.length <= 255 && id !== "." && id !== ".." &&
    !/[\/\\\0]/.test(id);
}

/** Parses the JSON file `path`; `null` when it does not exist. */
export async function readJsonFile<T>(path: string): Promise<T | null> {
  return await exists(path) ? await readJson<T>(path) : null;
}

/** A runs folder, or a single run folder. */
export class RunsDir {
  /** The folder given. */
  readonly root: string;

  /** Wraps `root`; nothing is read until asked. */
  constructor(root: string) {
    this.root = root;
  }

  /** True when the root itself is a run (holds `config.json`). */
  isSingleRun(): Promise<boolean> {
    return exists(join(this.root, "config.json"));
  }

  /** Folders whose children are runs: the root, or a study's cells and pre-training. */
  async #parents(): Promise<string[]> {
    return await exists(join(this.root, STUDY_FILE))
      ? [join(this.root, "cells"), join(this.root, "pretrain")]
      : [this.root];
  }

  /** The folder of run `id`, or `null` when there is no such run. */
  async resolve(id: string): Promise<string | null> {
    if (!isSafeRunId(id)) return null;
    if (await this.isSingleRun()) {
      return id === basename(this.root) ? this.root : null;
    }
    for (const parent of await this.#parents()) {
      const dir = join(parent, id);
      try {
        if ((await Deno.lstat(dir)).isDirectory) return dir;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    return null;
  }

  /** All runs, newest first. A missing root lists nothing. */
  async list(): Promise<RunSummary[]> {
    if (await this.isSingleRun()) return [await summarize(this.root)];
    const out: RunSummary[] = [];
    for (const parent of await this.#parents()) {
      try {
        for await (const entry of Deno.readDir(parent)) {
          if (!entry.isDirectory || !isSafeRunId(entry.name)) continue;
          const dir = join(parent, entry.name);
          if (
            await exists(join(dir, "config.json")) ||
            await exists(join(dir, "report.json"))
          ) out.push(await summarize(dir));
        }
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    return out.sort((a, b) =>
      (b.mtimeMs ?? 0) - (a.mtimeMs ?? 0) || a.id.localeCompare(b.id)
    );
  }
}

async function summarize(dir: string): Promise<RunSummary> {
  const report = await readJsonFile<Record<string, unknown>>(
    join(dir, "report.json"),
  );
  const config = report
    ? null
    : await readJsonFile<Record<string, unknown>>(join(dir, "config.json"));
  const recipe = report?.recipe ?? config?.recipe;
  const st = await Deno.stat(dir);
  return {
    id: basename(dir),
    recipe: typeof recipe === "string" ? recipe : null,
    finished: report !== null,
    mtimeMs: st.mtime?.getTime() ?? null,
  };
}

/** Config, per-phase metrics, report and sample list of the run in `dir`. */
export async function readRunDetail(dir: string): Promise<RunDetail> {
  const metrics: Record<string, Record<string, number>> = {};
  const samples: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isDirectory) continue;
    if (entry.name === "samples") {
      for await (const f of Deno.readDir(join(dir, "samples"))) {
        const ext = f.name.split(".").pop()?.toLowerCase() ?? "";
        if (f.isFile && ext in IMAGE_TYPES) samples.push(f.name);
      }
      continue;
    }
    const m = await readJsonFile<Record<string, number>>(
      join(dir, entry.name, "metrics.json"),
    );
    if (m) metrics[entry.name] = m;
  }
  return {
    id: basename(dir),
    config: await readJsonFile(join(dir, "config.json")),
    metrics,
    report: await readJsonFile(join(dir, "report.json")),
    samples: samples.sort(),
  };
}

/**
 * The events of the run in `dir` from `events.jsonl` (empty when absent).
 * Blank lines are skipped; a malformed line is an error naming the line, but
 * a truncated last line (a run still writing) is ignored.
 */
export async function readRunEvents(dir: string): Promise<RunEvent[]> {
  const path = join(dir, "events.jsonl");
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw new Error(`${path}: cannot read: ${(e as Error).message}`);
  }
  const lines = text.split("\n");
  const events: RunEvent[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    try {
      events.push(JSON.parse(line) as RunEvent);
    } catch (e) {
      if (i === lines.length - 1) break;
      throw new Error(
        `${path}:${i + 1}: invalid JSON: ${(e as Error).message}`,
      );
    }
  }
  return events;
}
