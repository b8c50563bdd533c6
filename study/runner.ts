/**
 * Runs a study's jobs, each a recipe run in `<dir>/<stage>/<id>/`. A job is
 * finished when its `report.json` exists (the runner writes it atomically,
 * last) and is then skipped; an interrupted one is run again with
 * `resume`, so it continues from its phases' checkpoints. `study.json`
 * records the grid; a folder holds one grid, so a rerun with another grid
 * is an error and never mixes results.
 *
 * Stages: pre-training jobs (`pretrain`) start first, as their backbones
 * initialise cells; a cell waits only for its own, so with several jobs at
 * once random-init cells fill the cores meanwhile. `--shard I/N` takes every
 * N-th job of a stage. With one shard, `all` runs both stages; with several, a cell whose pre-training
 * has not finished is an error naming it, so run `--stage pretrain` on
 * every shard first (docs/study.md).
 */
import { hostname } from "node:os";
import { exists, readJson, writeJsonAtomic } from "../core/fs.ts";
import { LockHeldError, withPhaseLock } from "../selftrain/run_lock.ts";
import { formatShard, NO_SHARD, type Shard } from "../selftrain/shard.ts";
import {
  enumerateStudy,
  selectShard,
  type StudyCell,
  type StudyGrid,
  type StudyJob,
  type StudyPlan,
  validateGrid,
} from "./grid.ts";

/** The grid file of a study folder. */
export const STUDY_FILE = "study.json";

/** Per-job state written by the runner beside the recipe's files. */
export const CELL_STATE_FILE = "study_cell.json";

/** What the runner records about a job it ran. */
export interface JobState {
  /** Job id. */
  id: string;
  /** `running`, `done` or `failed`. */
  status: "running" | "done" | "failed";
  /** Recipe. */
  recipe: string;
  /** Overrides it ran with. */
  overrides: Record<string, string>;
  /** Host and pid of the runner. */
  host: string;
  /** Pid of the runner. */
  pid: number;
  /** Start, ms since the epoch. */
  startedMs: number;
  /** Wall seconds of this attempt (when ended). */
  seconds?: number;
  /** First line of the error (failed). */
  error?: string;
}

/** Runs one job's recipe into `out` (resuming what it finds there). */
export type JobRunner = (job: StudyJob, out: string) => Promise<void>;

/** Which jobs a run takes on. */
export type StudyStage = "all" | "pretrain" | "cells";

/** Options of `runStudy`. */
export interface RunStudyOptions {
  /** Study folder. */
  dir: string;
  /** The grid (must match `study.json` when it exists). */
  grid: StudyGrid;
  /** Runs a job. */
  run: JobRunner;
  /** This process's shard (default: all jobs). */
  shard?: Shard;
  /** Stage(s) to run (default `all`). */
  stage?: StudyStage;
  /** Jobs run at once (default 1). */
  jobs?: number;
  /** Checks a job before anything runs (e.g. its config resolves); throws one line. */
  check?: (job: StudyJob) => void;
  /** Estimated wall seconds of a job, for the plan and the remaining time. */
  estimate?: (job: StudyJob) => number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** What a `runStudy` call did. */
export interface StudyRunSummary {
  /** Jobs of this shard and stage, in order. */
  planned: string[];
  /** Jobs run to completion now. */
  ran: string[];
  /** Jobs already finished. */
  skipped: string[];
  /** Jobs another live process on this host was running. */
  busy: string[];
  /** Jobs that failed, with the first line of their error. */
  failed: { id: string; error: string }[];
}

/** Folder of `job` in study folder `dir`. */
export function jobDir(dir: string, job: StudyJob): string {
  return `${dir}/${job.stage}/${job.id}`;
}

/** True when `job` has finished (its `report.json` exists). */
export function jobDone(dir: string, job: StudyJob): Promise<boolean> {
  return exists(`${jobDir(dir, job)}/report.json`);
}

/** Reads `<dir>/study.json`; errors name the file. */
export async function readStudyGrid(dir: string): Promise<StudyGrid> {
  const path = `${dir}/${STUDY_FILE}`;
  if (!(await exists(path))) {
    throw new Error(`${path}: no study here (no ${STUDY_FILE})`);
  }
  const file = await readJson<{ grid?: StudyGrid }>(path);
  if (!file.grid) throw new Error(`${path}: no "grid" field`);
  try {
    validateGrid(file.grid);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  return file.grid;
}

/** JSON with object keys sorted, so equal grids compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(
          Object.entries(v).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0),
        )
        : v,
  );
}

/** True when two grids are the same (key order aside). */
export function sameGrid(a: StudyGrid, b: StudyGrid): boolean {
  return canonical(a) === canonical(b);
}

/**
 * Writes `<dir>/study.json` for `grid`, or checks that the one there holds
 * the same grid (one-line error otherwise).
 */
export async function openStudyDir(
  dir: string,
  grid: StudyGrid,
): Promise<void> {
  validateGrid(grid);
  const path = `${dir}/${STUDY_FILE}`;
  if (await exists(path)) {
    const old = await readStudyGrid(dir);
    if (!sameGrid(old, grid)) {
      throw new Error(
        `${path}: this folder holds a different grid ("${old.name}"); use another folder or the same preset and settings`,
      );
    }
    return;
  }
  await Deno.mkdir(dir, { recursive: true });
  await writeJsonAtomic(path, { version: 1, grid });
}

/** The jobs of `plan` that `stage` and `shard` select, in run order. */
export function selectJobs(
  plan: StudyPlan,
  stage: StudyStage,
  shard: Shard,
): StudyJob[] {
  const pre = stage === "cells" ? [] : selectShard(plan.pretrain, shard);
  const cells = stage === "pretrain" ? [] : selectShard(plan.cells, shard);
  return [...pre, ...cells];
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}

function duration(sec: number): string {
  const s = Math.round(sec);
  const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
  return h ? `${h} h ${m} min` : m ? `${m} min ${s % 60} s` : `${s} s`;
}

/** Runs one job under its folder's lock, recording its state. */
async function runJob(
  dir: string,
  job: StudyJob,
  run: JobRunner,
): Promise<number> {
  const out = jobDir(dir, job);
  await Deno.mkdir(out, { recursive: true });
  return await withPhaseLock(out, "study_cell", async () => {
    const state: JobState = {
      id: job.id,
      status: "running",
      recipe: job.recipe,
      overrides: job.overrides,
      host: hostname(),
      pid: Deno.pid,
      startedMs: Date.now(),
    };
    const statePath = `${out}/${CELL_STATE_FILE}`;
    await writeJsonAtomic(statePath, state);
    const t0 = performance.now();
    try {
      await run(job, out);
    } catch (e) {
      const seconds = (performance.now() - t0) / 1000;
      await writeJsonAtomic(statePath, {
        ...state,
        status: "failed",
        seconds,
        error: firstLine(e),
      });
      throw e;
    }
    const seconds = (performance.now() - t0) / 1000;
    await writeJsonAtomic(statePath, { ...state, status: "done", seconds });
    return seconds;
  });
}

/**
 * Runs this shard's jobs of the study in `dir`: writes or checks
 * `study.json`, checks every job, skips finished ones, runs the rest (up to
 * `jobs` at once) and returns what happened. A failed job does not stop
 * the others; the caller decides the exit status.
 */
export async function runStudy(o: RunStudyOptions): Promise<StudyRunSummary> {
  const shard = o.shard ?? NO_SHARD;
  const stage = o.stage ?? "all";
  const log = o.log ?? (() => {});
  await openStudyDir(o.dir, o.grid);
  const plan = enumerateStudy(o.grid, o.dir);
  const selected = selectJobs(plan, stage, shard);
  for (const job of selected) {
    try {
      o.check?.(job);
    } catch (e) {
      throw new Error(`${job.stage}/${job.id}: ${firstLine(e)}`);
    }
  }
  const summary: StudyRunSummary = {
    planned: selected.map((j) => j.id),
    ran: [],
    skipped: [],
    busy: [],
    failed: [],
  };
  const todo: StudyJob[] = [];
  for (const job of selected) {
    if (await jobDone(o.dir, job)) summary.skipped.push(job.id);
    else todo.push(job);
  }
  // Cells whose pre-training another shard (or stage) owns must find it done.
  const mine = new Set(
    todo.filter((j) => j.stage === "pretrain").map((j) => j.id),
  );
  for (const job of todo) {
    const needs = (job as StudyCell).needs;
    if (!needs || mine.has(needs)) continue;
    const pre = plan.pretrain.find((p) => p.id === needs)!;
    if (!(await jobDone(o.dir, pre))) {
      throw new Error(
        `cells/${job.id} needs pretrain/${needs}, which has not finished: run --stage pretrain (every shard) first`,
      );
    }
  }
  const jobs = Math.max(1, o.jobs ?? 1);
  const cost = (j: StudyJob) => o.estimate?.(j) ?? 0;
  let estLeft = todo.reduce((a, j) => a + cost(j), 0);
  log(
    `study ${o.grid.name} in ${o.dir}: shard ${
      formatShard(shard)
    }, stage ${stage}: ` +
      `${selected.length} jobs, ${summary.skipped.length} finished, ${todo.length} to run` +
      (o.estimate ? `, estimated ${duration(estLeft / jobs)}` : "") +
      (jobs > 1 ? ` with ${jobs} at once` : ""),
  );
  let estDone = 0, tookDone = 0;
  // Pre-training jobs come first in `todo`, so each has started before any
  // cell is taken; a cell that needs one still running waits for it, while
  // the other workers go on (random-init cells need none).
  const running = new Map<string, Promise<void>>();
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const job = todo[next++];
      const est = cost(job);
      estLeft -= est;
      const needs = (job as StudyCell).needs;
      if (needs) await running.get(needs);
      if (
        needs &&
        !(await jobDone(o.dir, { ...job, stage: "pretrain", id: needs }))
      ) {
        const error = `needs pretrain/${needs}, which did not finish`;
        summary.failed.push({ id: job.id, error });
        log(`FAILED ${job.stage}/${job.id}: ${error}`);
        continue;
      }
      log(`start ${job.stage}/${job.id} (${job.recipe})`);
      let ended = () => {};
      if (job.stage === "pretrain") {
        running.set(job.id, new Promise((resolve) => ended = resolve));
      }
      try {
        const took = await runJob(o.dir, job, o.run);
        summary.ran.push(job.id);
        estDone += est;
        tookDone += took;
        const rate = estDone > 0 ? tookDone / estDone : 1;
        log(
          `done ${job.stage}/${job.id} in ${duration(took)}` +
            (o.estimate
              ? ` (estimated ${duration(est)}); left ~${
                duration(estLeft * rate / jobs)
              }`
              : ""),
        );
      } catch (e) {
        if (e instanceof LockHeldError) {
          summary.busy.push(job.id);
          log(`busy ${job.stage}/${job.id}: ${e.message}`);
        } else {
          summary.failed.push({ id: job.id, error: firstLine(e) });
          log(`FAILED ${job.stage}/${job.id}: ${firstLine(e)}`);
        }
      } finally {
        ended();
      }
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  return summary;
}
