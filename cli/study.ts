/**
 * `deno task study`: the paper's tables in miniature (docs/study.md).
 *
 *   deno task study --preset quick|cpu|paper [--out DIR] [--shard I/N]
 *       [--stage all|pretrain|cells] [--jobs J] [--backend B] [--in-process]
 *       [--set KEY=VALUE ...] [--dry-run] [--coco DIR --voc DIR --unlabeled DIR]
 *   deno task study report DIR [DIR ...] [--out DIR]
 *
 * A run writes `DIR/study.json`, runs its shard's jobs (each a recipe run
 * in `DIR/cells/<id>/` or `DIR/pretrain/<id>/`, skipped when finished,
 * resumed when interrupted) and then the report: `study.md`,
 * `study_results.json` and `plots/`. `report` rebuilds those from whatever
 * cells have finished, merging folders of the same grid.
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { EventBus } from "../core/events.ts";
import type { Registry } from "../core/registry.ts";
import { resolveConfig, runRecipe } from "../core/runner.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";
import { NO_SHARD, parseShard } from "../selftrain/shard.ts";
import {
  enumerateStudy,
  type JobRunner,
  runStudy,
  selectJobs,
  type StudyGrid,
  type StudyJob,
  type StudyStage,
  tableMarkdown,
  type Task,
  taskRecipes,
  writeStudyReport,
} from "../study/mod.ts";
import { attachProgress, formatDuration, stderrSink } from "./progress.ts";
import { estimateJobSeconds, parallelSlowdown } from "./study_cost.ts";
import { buildPreset, recipeHasKey } from "./study_presets.ts";

const USAGE = `usage:
  deno task study --preset quick|cpu|paper [--out DIR] [--shard I/N] [--stage all|pretrain|cells]
      [--jobs J] [--backend B] [--in-process] [--set KEY=VALUE ...] [--dry-run]
      [--budget-hours H   (cpu: size the steps to H hours; default 2.75)]
      [--coco DIR --voc DIR --unlabeled DIR   (paper)]
  deno task study report DIR [DIR ...] [--out DIR]`;

const RECIPE_CLI = fileURLToPath(new URL("./recipe.ts", import.meta.url));
const STAGES: readonly StudyStage[] = ["all", "pretrain", "cells"];

/** Applies `--set KEY=VALUE` to every recipe of the grid that has KEY. */
export function applySets(
  registry: Registry,
  grid: StudyGrid,
  sets: readonly string[],
): void {
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new Error(`--set expects KEY=VALUE, got "${s}"`);
    const key = s.slice(0, eq), value = s.slice(eq + 1);
    let used = false;
    for (const [task, t] of Object.entries(grid.tasks)) {
      for (const r of taskRecipes(task as Task, t!)) {
        if (!recipeHasKey(registry, r, key)) continue;
        t!.overrides[r] = { ...t!.overrides[r], [key]: value };
        used = true;
      }
    }
    if (!used) throw new Error(`--set ${key}: no recipe of the grid has it`);
  }
}

/**
 * The command line that runs study job `job` into `out` with the recipe
 * CLI on `backend`, resuming whatever the folder holds.
 */
export function recipeCommandArgs(
  job: StudyJob,
  out: string,
  backend: string,
): string[] {
  return [
    "run",
    "-A",
    RECIPE_CLI,
    job.recipe,
    "--out",
    out,
    "--resume",
    "--backend",
    backend,
    ...Object.entries(job.overrides).map(([k, v]) => `--${k}=${v}`),
  ];
}

/**
 * Runs a job as `deno run cli/recipe.ts NAME --out OUT --resume ...`, its
 * output appended to `<out>/cell.log`; a failure's error is the recipe's
 * `error:` line.
 */
export function subprocessRunner(backend: string, jobs: number): JobRunner {
  const env: Record<string, string> = {};
  // Side by side, each run gets its share of the cores (and is deterministic
  // for that thread count).
  if (jobs > 1) {
    const threads = String(
      Math.max(1, Math.floor(navigator.hardwareConcurrency / jobs)),
    );
    for (const k of ["SELFTRAIN_BLAS_THREADS", "SELFTRAIN_WASM_THREADS"]) {
      if (Deno.env.get(k) === undefined) env[k] = threads;
    }
  }
  return async (job, out) => {
    const logPath = `${out}/cell.log`;
    const opts = { append: true, create: true, write: true };
    const [o, e] = [
      await Deno.open(logPath, opts),
      await Deno.open(logPath, opts),
    ];
    const child = new Deno.Command(Deno.execPath(), {
      args: recipeCommandArgs(job, out, backend),
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    await Promise.all([
      child.stdout.pipeTo(o.writable),
      child.stderr.pipeTo(e.writable),
    ]);
    const status = await child.status;
    if (!status.success) {
      const lines = (await Deno.readTextFile(logPath)).trim().split("\n");
      const err = lines.findLast((l) => l.startsWith("error:")) ??
        lines.at(-1) ?? "";
      throw new Error(
        `${job.recipe} exited with ${status.code}: ${err} (log: ${logPath})`,
      );
    }
  };
}

/** Runs a job in this process (one at a time). */
export function inProcessRunner(
  registry: Registry,
  backend: string,
  progress = true,
): JobRunner {
  return async (job, out) => {
    const events = new EventBus();
    const detach = progress ? attachProgress(events, stderrSink()) : () => {};
    try {
      await runRecipe({
        registry,
        recipe: job.recipe,
        overrides: job.overrides,
        out,
        backend,
        resume: true,
        events,
      });
    } finally {
      detach();
    }
  };
}

async function report(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { out: { type: "string" } },
    allowPositionals: true,
  });
  if (positionals.length === 0) throw new Error(`report needs DIR\n${USAGE}`);
  const r = await writeStudyReport(positionals, values.out);
  const out = values.out ?? positionals[0];
  const c = r.counts;
  console.log(
    `${out}/study.md: ${c.done} of ${c.total} cells finished` +
      (c.failed ? `, ${c.failed} failed` : ""),
  );
  for (const t of r.tables) console.log(`\n${t.title}\n${tableMarkdown(t)}`);
  return 0;
}

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      preset: { type: "string" },
      out: { type: "string" },
      shard: { type: "string" },
      stage: { type: "string", default: "all" },
      jobs: { type: "string" },
      backend: { type: "string", default: "auto" },
      "in-process": { type: "boolean" },
      set: { type: "string", multiple: true },
      "dry-run": { type: "boolean" },
      coco: { type: "string" },
      voc: { type: "string" },
      unlabeled: { type: "string" },
      "budget-hours": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.preset) throw new Error(`--preset is required\n${USAGE}`);
  const stage = values.stage as StudyStage;
  if (!STAGES.includes(stage)) {
    throw new Error(`--stage must be ${STAGES.join(", ")}, got "${stage}"`);
  }
  const budget = values["budget-hours"];
  if (budget !== undefined && !(Number(budget) > 0)) {
    throw new Error(`--budget-hours expects a number > 0, got "${budget}"`);
  }
  const registry = createBuiltinRegistry();
  const preset = await buildPreset(values.preset, registry, {
    coco: values.coco,
    voc: values.voc,
    unlabeled: values.unlabeled,
    budgetSeconds: budget === undefined ? undefined : 3600 * Number(budget),
  });
  applySets(registry, preset.grid, values.set ?? []);
  const jobs = values.jobs === undefined
    ? (values["in-process"] ? 1 : preset.jobs)
    : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) {
    throw new Error(`--jobs expects a whole number >= 1, got "${values.jobs}"`);
  }
  if (values["in-process"] && jobs > 1) {
    throw new Error("--in-process runs one job at a time: drop --jobs");
  }
  const dir = values.out ?? `runs/study-${values.preset}`;
  const shard = values.shard ? parseShard(values.shard) : NO_SHARD;
  for (const n of preset.notes) console.log(`note: ${n}`);
  const estimate = preset.cpuEstimates
    ? (j: Parameters<JobRunner>[0]) =>
      estimateJobSeconds(registry, j) * parallelSlowdown(jobs)
    : undefined;
  if (values["dry-run"]) {
    const plan = selectJobs(enumerateStudy(preset.grid, dir), stage, shard);
    for (const j of plan) {
      const est = estimate ? `  ~${formatDuration(estimate(j))}` : "";
      console.log(`${j.stage}/${j.id}  ${j.recipe}${est}`);
    }
    const total = estimate
      ? `, estimated ${
        formatDuration(plan.reduce((a, j) => a + estimate(j), 0) / jobs)
      } on 2 CPU cores`
      : "";
    console.log(`${plan.length} jobs${total}`);
    return 0;
  }
  const summary = await runStudy({
    dir,
    grid: preset.grid,
    shard,
    stage,
    jobs,
    run: values["in-process"]
      ? inProcessRunner(registry, values.backend!)
      : subprocessRunner(values.backend!, jobs),
    check: (j) => void resolveConfig(registry, j.recipe, j.overrides),
    estimate,
    log: (line) =>
      console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
  });
  const r = await writeStudyReport([dir]);
  console.log(
    `${dir}/study.md: ${r.counts.done} of ${r.counts.total} cells finished; ` +
      `this run: ${summary.ran.length} ran, ${summary.skipped.length} skipped, ` +
      `${summary.busy.length} busy, ${summary.failed.length} failed`,
  );
  for (const f of summary.failed) console.log(`failed: ${f.id}: ${f.error}`);
  return summary.failed.length ? 1 : 0;
}

/** Entry point: `report` or a run. */
export async function main(args: string[]): Promise<number> {
  if (args[0] === "report") return await report(args.slice(1));
  return await run(args[0] === "run" ? args.slice(1) : args);
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`study: ${(e as Error).message.split("\n")[0]}`);
    if ((e as Error).message.includes("\n")) {
      console.error((e as Error).message.split("\n").slice(1).join("\n"));
    }
    Deno.exit(1);
  }
}
