/**
 * Reads a study's cells (status and metrics) from one or more study
 * folders holding the same grid, and folds them into the paper's tables:
 * rows init / method, columns augmentation (at one fraction) or labelled
 * fraction (at one augmentation); each entry the mean ± std over the
 * finished seeds and its Δ against the supervised random-init entry of the
 * same column. A partial grid gives the same tables with the missing
 * entries empty and the seed counts shown.
 */
import { exists, readJson } from "../core/fs.ts";
import {
  enumerateStudy,
  fractionLabel,
  gridPoints,
  gridRows,
  type StudyCell,
  type StudyGrid,
} from "./grid.ts";
import {
  type InitKind,
  INITS,
  type Method,
  METHODS,
  type Task,
  TASK_METRICS,
  TASKS,
} from "./methods.ts";
import { CELL_STATE_FILE, jobDir, type JobState } from "./runner.ts";

/** Where a cell stands. */
export type CellStatus = "done" | "failed" | "started" | "pending";

/** A cell with its outcome (metrics in points, ×100). */
export interface CellResult extends
  Pick<
    StudyCell,
    | "id"
    | "task"
    | "init"
    | "method"
    | "augment"
    | "fraction"
    | "seed"
    | "recipe"
  > {
  /** `done` (report.json), `failed`, `started` (a folder, no report) or `pending`. */
  status: CellStatus;
  /** Headline metric on val, points. */
  value: number | null;
  /** Headline metric on tune, points. */
  tune: number | null;
  /** The recipe's compute-matched supervised baseline on val (self-training), points. */
  baseline: number | null;
  /** Wall seconds of the run that finished it, when recorded. */
  seconds: number | null;
  /** Error of a failed attempt. */
  error: string | null;
}

/** Mean ± sample std of some seeds. */
export interface SeedStat {
  /** Mean. */
  mean: number;
  /** Sample standard deviation (n − 1), `null` for one seed. */
  std: number | null;
  /** Seeds that finished. */
  n: number;
}

/** One entry of a table. */
export interface TableEntry {
  /** Over the finished seeds, or `null` when none finished. */
  stat: SeedStat | null;
  /** Seeds the grid has for this entry. */
  planned: number;
  /** Mean minus the supervised random-init mean of the column, `null` when either is missing or this is that row. */
  delta: number | null;
  /** Self-training: student minus the recipe's compute-matched baseline, over seeds. */
  vsBaseline: SeedStat | null;
}

/** A row: one init / method pair. */
export interface TableRow {
  /** Initialisation. */
  init: InitKind;
  /** Method. */
  method: Method;
  /** `random init / supervised`. */
  label: string;
  /** One entry per column. */
  entries: TableEntry[];
}

/** One of the paper's tables for one task. */
export interface StudyTable {
  /** Stable id, also the plot's file stem. */
  id: string;
  /** Task. */
  task: Task;
  /** What the columns vary. */
  axis: "augment" | "fraction";
  /** The other axis, held fixed. */
  fixed: { augment?: string; fraction?: number };
  /** Heading. */
  title: string;
  /** Metric name (`AP`, `mIoU`). */
  metric: string;
  /** Column keys: augmentation names or fractions. */
  columns: (string | number)[];
  /** Column headings. */
  headings: string[];
  /** Rows in init, method order. */
  rows: TableRow[];
}

/** Cell counts by status. */
export type StatusCounts = Record<CellStatus, number> & { total: number };

/** Everything `study report` writes to `study_results.json`. */
export interface StudyResults {
  /** The grid. */
  grid: StudyGrid;
  /** Cells in run order. */
  cells: CellResult[];
  /** Counts by status. */
  counts: StatusCounts;
  /** The tables. */
  tables: StudyTable[];
}

type Json = Record<string, unknown>;

function num(x: unknown): number | null {
  return typeof x === "number" && Number.isFinite(x) && x >= 0 ? x : null;
}

/** Metrics of `part` (`metrics`, `student`, `baseline`) in a report. */
function modelMetrics(report: Json, part: string): Json | null {
  const m = report[part];
  if (!m || typeof m !== "object") return null;
  const inner = (m as Json).metrics;
  return (inner && typeof inner === "object" ? inner : m) as Json;
}

const points = (x: number | null) => x === null ? null : 100 * x;

/** The outcome of `cell` read from its folder under `dir`. */
export async function readCell(
  dir: string,
  cell: StudyCell,
): Promise<CellResult> {
  const out = jobDir(dir, cell);
  const binding = METHODS[cell.method].tasks[cell.task]!;
  const metric = TASK_METRICS[cell.task];
  const base: CellResult = {
    id: cell.id,
    task: cell.task,
    init: cell.init,
    method: cell.method,
    augment: cell.augment,
    fraction: cell.fraction,
    seed: cell.seed,
    recipe: cell.recipe,
    status: "pending",
    value: null,
    tune: null,
    baseline: null,
    seconds: null,
    error: null,
  };
  const state = await exists(`${out}/${CELL_STATE_FILE}`)
    ? await readJson<JobState>(`${out}/${CELL_STATE_FILE}`)
    : null;
  if (await exists(`${out}/report.json`)) {
    const report = await readJson<Json>(`${out}/report.json`);
    const m = modelMetrics(report, binding.reports);
    const b = binding.hasBaseline ? modelMetrics(report, "baseline") : null;
    const value = points(num(m?.[metric.val]));
    if (value === null) {
      throw new Error(
        `${out}/report.json: no ${binding.reports} ${metric.val} number`,
      );
    }
    return {
      ...base,
      status: "done",
      value,
      tune: points(num(m?.[metric.tune])),
      baseline: points(num(b?.[metric.val])),
      seconds: state?.status === "done" ? state.seconds ?? null : null,
    };
  }
  if (state?.status === "failed") {
    return { ...base, status: "failed", error: state.error ?? null };
  }
  return { ...base, status: await exists(out) ? "started" : "pending" };
}

/**
 * Every cell of the study, the first finished copy found across `dirs`
 * (folders of the same grid, e.g. shards run without a shared disk).
 */
export async function readCells(
  grid: StudyGrid,
  dirs: readonly string[],
): Promise<CellResult[]> {
  const { cells } = enumerateStudy(grid, dirs[0]);
  const out: CellResult[] = [];
  for (const cell of cells) {
    let best: CellResult | null = null;
    for (const dir of dirs) {
      const r = await readCell(dir, cell);
      if (r.status === "done") {
        best = r;
        break;
      }
      if (!best || rank(r.status) > rank(best.status)) best = r;
    }
    out.push(best!);
  }
  return out;
}

function rank(s: CellStatus): number {
  return { pending: 0, started: 1, failed: 2, done: 3 }[s];
}

/** Mean and sample std of `values` (`null` when empty). */
export function seedStat(values: readonly number[]): SeedStat | null {
  const n = values.length;
  if (n === 0) return null;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n < 2 ? null : Math.sqrt(
    values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1),
  );
  return { mean, std, n };
}

function rowLabel(init: InitKind, method: Method): string {
  return `${INITS[init].label} / ${METHODS[method].label}`;
}

/** The tables of one task. */
function taskTables(
  grid: StudyGrid,
  task: Task,
  cells: readonly CellResult[],
): StudyTable[] {
  const t = grid.tasks[task]!;
  const pts = gridPoints(t, grid.design);
  const rows = gridRows(t);
  const metric = TASK_METRICS[task].label;
  const mine = cells.filter((c) => c.task === task);
  const entry = (
    init: InitKind,
    method: Method,
    augment: string,
    fraction: number,
  ): { done: CellResult[]; planned: number } => {
    const all = mine.filter((c) =>
      c.init === init && c.method === method && c.augment === augment &&
      c.fraction === fraction
    );
    return {
      done: all.filter((c) => c.status === "done"),
      planned: all.length,
    };
  };
  const build = (
    axis: "augment" | "fraction",
    fixedValue: string | number,
  ): StudyTable => {
    const columns: (string | number)[] = axis === "augment"
      ? t.augments.filter((a) =>
        pts.some((p) => p.augment === a && p.fraction === fixedValue)
      )
      : t.fractions.filter((f) =>
        pts.some((p) => p.fraction === f && p.augment === fixedValue)
      );
    const at = (col: string | number) =>
      axis === "augment"
        ? { augment: col as string, fraction: fixedValue as number }
        : { augment: fixedValue as string, fraction: col as number };
    const refs = columns.map((col) => {
      const { augment, fraction } = at(col);
      return seedStat(
        entry("random", "supervised", augment, fraction).done.map((c) =>
          c.value!
        ),
      );
    });
    return {
      id: axis === "augment"
        ? `${task}-augment-${
          fractionLabel(fixedValue as number).replace("%", "pct")
        }`
        : `${task}-fraction-${fixedValue}`,
      task,
      axis,
      fixed: axis === "augment"
        ? { fraction: fixedValue as number }
        : { augment: fixedValue as string },
      title: axis === "augment"
        ? `${task}: ${metric} by augmentation, ${
          fractionLabel(fixedValue as number)
        } of the labels`
        : `${task}: ${metric} by labelled fraction, augmentation ${fixedValue}`,
      metric,
      columns,
      headings: columns.map((c) =>
        axis === "augment" ? String(c) : fractionLabel(c as number)
      ),
      rows: rows.map(({ init, method }) => ({
        init,
        method,
        label: rowLabel(init, method),
        entries: columns.map((col, i) => {
          const { augment, fraction } = at(col);
          const { done, planned } = entry(init, method, augment, fraction);
          const stat = seedStat(done.map((c) => c.value!));
          const isRef = init === "random" && method === "supervised";
          const withBase = done.filter((c) => c.baseline !== null);
          return {
            stat,
            planned,
            delta: !isRef && stat && refs[i] ? stat.mean - refs[i]!.mean : null,
            vsBaseline: seedStat(withBase.map((c) => c.value! - c.baseline!)),
          };
        }),
      })),
    };
  };
  const tables: StudyTable[] = [];
  for (const f of t.fractions) {
    const augs = new Set(
      pts.filter((p) => p.fraction === f).map((p) => p.augment),
    );
    if (augs.size > 1) tables.push(build("augment", f));
  }
  for (const a of t.augments) {
    const fr = new Set(
      pts.filter((p) => p.augment === a).map((p) => p.fraction),
    );
    if (fr.size > 1) tables.push(build("fraction", a));
  }
  if (tables.length === 0) tables.push(build("augment", pts[0].fraction));
  return tables;
}

/** Counts of `cells` by status. */
export function statusCounts(cells: readonly CellResult[]): StatusCounts {
  const c: StatusCounts = {
    done: 0,
    failed: 0,
    started: 0,
    pending: 0,
    total: cells.length,
  };
  for (const x of cells) c[x.status]++;
  return c;
}

/** Folds `cells` of `grid` into the study's tables. */
export function buildResults(
  grid: StudyGrid,
  cells: CellResult[],
): StudyResults {
  const tables = TASKS.filter((t) => grid.tasks[t]).flatMap((t) =>
    taskTables(grid, t, cells)
  );
  return { grid, cells, counts: statusCounts(cells), tables };
}
