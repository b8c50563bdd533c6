/**
 * The self-training report: teacher vs student on the 12 COCO numbers,
 * pseudo-label counts and score histogram, written as `report.json`,
 * `report.md` and `curves.svg` (loss curves of both phases and AP bars).
 */
import { COCO_METRIC_NAMES } from "../eval/mod.ts";
import { exists, readJson, writeFileAtomic } from "../core/fs.ts";
import type { PseudoStats } from "../selftrain/pseudo_store.ts";
import { renderCurvesSvg, type Series } from "../image/svg_plot.ts";
import { describeInit, type InitRecord } from "./backbone_init.ts";

/** One trained model of the report. */
export interface PhaseOutcome {
  /** COCO metrics on val (fractions; `tune/…` keys on tune). */
  metrics: Record<string, number>;
  /** Optimisation steps. */
  steps: number;
}

/** What every self-training recipe knows of its phases when it reports. */
export interface SelfTrainPhases {
  /** Recipe name. */
  recipe: string;
  /** Seed. */
  seed: number;
  /** Backend used. */
  backend: string;
  /** Initialisation of teacher, student and baseline (`model.init`). */
  init: InitRecord;
  /** The teacher. */
  teacher: PhaseOutcome;
  /** The compute-matched supervised baseline. */
  baseline: PhaseOutcome & {
    /** `random` or `teacher`: the student's initialisation. */
    init: string;
    /** True when the teacher is that baseline (nothing else trained). */
    reusedTeacher: boolean;
    /** Human images per step. */
    humanPerStep: number;
  };
  /** The student. */
  student: PhaseOutcome & {
    /** Human images per step. */
    humanPerStep: number;
    /** Pseudo images per step. */
    pseudoPerStep: number;
  };
  /** Wall seconds of this invocation. */
  seconds: number;
}

/** What `coco-selftrain` knows when it reports. */
export interface SelfTrainOutcome extends SelfTrainPhases {
  /** Pseudo-label COCO file used by the student. */
  labelsFile: string;
  /** Class names, index = label. */
  classNames: readonly string[];
  /** Human boxes per class name in the labelled split. */
  humanPerClass: Record<string, number>;
}

/**
 * `a − b` on every metric of `names` both have (ignoring COCO's −1 of an
 * empty area range).
 */
export function metricDelta(
  a: Record<string, number>,
  b: Record<string, number>,
  names: readonly string[] = COCO_METRIC_NAMES,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of names) {
    if (a[k] !== undefined && b[k] !== undefined && a[k] >= 0 && b[k] >= 0) {
      out[k] = a[k] - b[k];
    }
  }
  return out;
}

/** A fraction as a percentage with one decimal ("-" when missing). */
export const pct = (v: number | undefined): string =>
  v === undefined ? "-" : v < 0 ? "-1" : (100 * v).toFixed(1);
/** A difference of fractions as signed percentage points. */
export const signed = (v: number | undefined): string =>
  v === undefined ? "-" : `${v >= 0 ? "+" : ""}${(100 * v).toFixed(1)}`;

/**
 * The metrics `names` (default the 12 COCO numbers) of teacher,
 * compute-matched baseline and student, with Δ(student − baseline), the
 * headline, and Δ(student − teacher).
 */
export function comparisonTable(
  teacher: Record<string, number>,
  baseline: Record<string, number>,
  student: Record<string, number>,
  names: readonly string[] = COCO_METRIC_NAMES,
): string {
  const vsBase = metricDelta(student, baseline, names);
  const vsTeacher = metricDelta(student, teacher, names);
  const rows = names.map((k) =>
    `| ${k} | ${pct(teacher[k])} | ${pct(baseline[k])} | ${
      pct(student[k])
    } | **${signed(vsBase[k])}** | ${signed(vsTeacher[k])} |`
  );
  return [
    "| metric | teacher | baseline | student | Δ vs baseline | Δ vs teacher |",
    "|---|---:|---:|---:|---:|---:|",
    ...rows,
  ].join("\n");
}

/** Kept and ignored pseudo boxes per class name of a COCO pseudo-label file. */
async function pseudoCounts(
  path: string,
  classNames: readonly string[],
): Promise<
  {
    images: number;
    boxes: number;
    ignored: number;
    perClass: Record<string, number>;
  }
> {
  const file = await readJson<{
    images?: unknown[];
    annotations?: { category_id: number; iscrowd?: number }[];
    categories?: { id: number }[];
  }>(path);
  const ids = (file.categories ?? []).map((c) => c.id).sort((a, b) => a - b);
  const perClass: Record<string, number> = Object.fromEntries(
    classNames.map((n) => [n, 0]),
  );
  let boxes = 0, ignored = 0;
  for (const a of file.annotations ?? []) {
    if (a.iscrowd) {
      ignored++;
      continue;
    }
    boxes++;
    const name = classNames[ids.indexOf(a.category_id)] ??
      String(a.category_id);
    perClass[name] = (perClass[name] ?? 0) + 1;
  }
  return { images: file.images?.length ?? 0, boxes, ignored, perClass };
}

/** Per-class shares of human and pseudo labels (`unit`: boxes, pixels), as a Markdown table. */
export function classTable(
  human: Record<string, number>,
  pseudo: Record<string, number>,
  unit = "boxes",
): string {
  const total = (r: Record<string, number>) =>
    Object.values(r).reduce((a, b) => a + b, 0) || 1;
  const th = total(human), tp = total(pseudo);
  const names = [...new Set([...Object.keys(human), ...Object.keys(pseudo)])];
  return [
    `| class | human ${unit} | share | pseudo ${unit} | share |`,
    "|---|---:|---:|---:|---:|",
    ...names.map((n) =>
      `| ${n} | ${human[n] ?? 0} | ${
        (100 * (human[n] ?? 0) / th).toFixed(1)
      }% | ${pseudo[n] ?? 0} | ${(100 * (pseudo[n] ?? 0) / tp).toFixed(1)}% |`
    ),
  ].join("\n");
}

/** Loss curves per phase from `<out>/events.jsonl` (the last attempt of each). */
export async function lossSeries(out: string): Promise<Series[]> {
  const path = `${out}/events.jsonl`;
  if (!(await exists(path))) return [];
  const series = new Map<string, [number, number][]>();
  for (const line of (await Deno.readTextFile(path)).split("\n")) {
    if (!line.includes('"type":"step"')) continue;
    try {
      const e = JSON.parse(line) as {
        phase: string;
        step: number;
        loss: number;
      };
      if (!series.has(e.phase)) series.set(e.phase, []);
      series.get(e.phase)!.push([e.step, e.loss]);
    } catch {
      // A torn last line of a killed run: skip it.
    }
  }
  return [...series].map(([name, points]) => ({
    name,
    points: lastRun(points),
  }));
}

/** Keeps the last run of a phase when events.jsonl holds several attempts. */
function lastRun(points: [number, number][]): [number, number][] {
  let start = 0;
  for (let i = 1; i < points.length; i++) {
    if (points[i][0] <= points[i - 1][0]) start = i;
  }
  return points.slice(start);
}

/** Writes report.json, report.md and curves.svg; returns the report object. */
export async function writeSelfTrainReport(
  out: string,
  o: SelfTrainOutcome,
): Promise<Record<string, unknown>> {
  const statsPath = `${o.labelsFile.replace(/\.json$/, "")}.stats.json`;
  const stats = await exists(statsPath)
    ? await readJson<PseudoStats>(statsPath)
    : null;
  const counts = await pseudoCounts(o.labelsFile, o.classNames);
  const table = comparisonTable(
    o.teacher.metrics,
    o.baseline.metrics,
    o.student.metrics,
  );
  const hist = stats
    ? stats.scoreHistogram.counts.map((n, i) =>
      `${stats.scoreHistogram.edges[i].toFixed(1)}: ${n}`
    ).join(", ")
    : "(not available)";
  const samples = `${out}/samples`;
  const previews = await exists(samples)
    ? [...Deno.readDirSync(samples)].map((e) => e.name)
      .filter((n) => n.startsWith("pseudo_")).sort()
    : [];
  const b = o.baseline, st = o.student;
  const summary = [
    `${o.recipe} (seed ${o.seed}, backend ${o.backend}; numbers on val)`,
    `initialisation (teacher, student, baseline): ${describeInit(o.init)}`,
    `student ${st.steps} steps of ${st.humanPerStep} human + ${st.pseudoPerStep} pseudo images; ` +
    `baseline ${b.steps} steps of ${b.humanPerStep} human images from the same ${b.init} init` +
    (b.reusedTeacher ? " (the teacher itself)" : "") +
    `; teacher ${o.teacher.steps} steps`,
    `Δ AP (student − compute-matched baseline): ${
      signed(metricDelta(st.metrics, b.metrics).AP)
    } on val` + (st.metrics["tune/AP"] === undefined
      ? ""
      : `; on tune ${
        signed(st.metrics["tune/AP"] - b.metrics["tune/AP"])
      } (student ${pct(st.metrics["tune/AP"])}, baseline ${
        pct(b.metrics["tune/AP"])
      })`),
    table,
    `pseudo-labels: ${counts.images} images, ${counts.boxes} boxes, ${counts.ignored} ignore regions; score histogram ${hist}`,
  ].join("\n");
  const grid = previews.map((p) => `![${p}](samples/${p})`).join(" ");
  await writeFileAtomic(
    `${out}/report.md`,
    `# Self-training report\n\n${summary}\n\n![curves](curves.svg)\n\n` +
      `## Pseudo-labels\n\nFile: \`${o.labelsFile}\`\n\n` +
      classTable(o.humanPerClass, counts.perClass) + "\n\n" +
      (grid
        ? `Teacher boxes on unlabelled images: green kept, orange ignore region, red dropped.\n\n${grid}\n`
        : ""),
  );
  await writeFileAtomic(
    `${out}/curves.svg`,
    renderCurvesSvg(await lossSeries(out), [
      { name: "teacher", value: o.teacher.metrics.AP ?? 0 },
      { name: "baseline", value: b.metrics.AP ?? 0 },
      { name: "student", value: st.metrics.AP ?? 0 },
    ]),
  );
  const report = {
    recipe: o.recipe,
    seed: o.seed,
    backend: o.backend,
    init: o.init,
    teacher: { metrics: o.teacher.metrics, steps: o.teacher.steps },
    baseline: {
      metrics: b.metrics,
      steps: b.steps,
      init: b.init,
      humanPerStep: b.humanPerStep,
      reusedTeacher: b.reusedTeacher,
    },
    student: {
      metrics: st.metrics,
      steps: st.steps,
      humanPerStep: st.humanPerStep,
      pseudoPerStep: st.pseudoPerStep,
    },
    delta: {
      baseline: metricDelta(st.metrics, b.metrics),
      teacher: metricDelta(st.metrics, o.teacher.metrics),
    },
    pseudo_labels: {
      images: counts.images,
      boxes: counts.boxes,
      ignored: counts.ignored,
      score_histogram: stats?.scoreHistogram ?? null,
      file: o.labelsFile,
      per_class: counts.perClass,
      human_per_class: o.humanPerClass,
      previews,
    },
    seconds: o.seconds,
    summary,
  };
  return report;
}
