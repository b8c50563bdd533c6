/**
 * The study's outputs: the tables as Markdown (`study.md`), the results as
 * JSON (`study_results.json`) and SVG plots (`plots/`): the metric against
 * labelled fraction, one plot per initialisation, and against augmentation.
 */
import { writeFileAtomic, writeJsonAtomic } from "../core/fs.ts";
import {
  type CategorySeries,
  renderCategoryPlotSvg,
} from "../image/svg_plot.ts";
import { formatEntry, formatSignedStat } from "./format.ts";
import { INIT_KINDS, INITS, METHODS } from "./methods.ts";
import {
  buildResults,
  readCells,
  type StudyResults,
  type StudyTable,
} from "./results.ts";
import { readStudyGrid, sameGrid } from "./runner.ts";

/** A study table as Markdown. */
export function tableMarkdown(t: StudyTable): string {
  const head = `| init / method | ${t.headings.join(" | ")} |`;
  const rule = `|---|${t.headings.map(() => "---:").join("|")}|`;
  const rows = t.rows.map((r) =>
    `| ${r.label} | ${r.entries.map(formatEntry).join(" | ")} |`
  );
  return [head, rule, ...rows].join("\n");
}

/** Δ(student − its compute-matched baseline) of the self-training rows, or "" when none. */
export function baselineMarkdown(t: StudyTable): string {
  const rows = t.rows.filter((r) =>
    METHODS[r.method].tasks[t.task]?.hasBaseline
  );
  if (rows.length === 0) return "";
  return [
    `| Δ student − compute-matched baseline | ${t.headings.join(" | ")} |`,
    `|---|${t.headings.map(() => "---:").join("|")}|`,
    ...rows.map((r) =>
      `| ${r.label} | ${
        r.entries.map((e) => formatSignedStat(e.vsBaseline)).join(" | ")
      } |`
    ),
  ].join("\n");
}

/** A named SVG plot. */
export interface StudyPlot {
  /** File name under `plots/`. */
  name: string;
  /** Id of the table it draws. */
  table: string;
  /** SVG document. */
  svg: string;
}

function series(rows: StudyTable["rows"]): CategorySeries[] {
  return rows.map((r) => ({
    name: r.label,
    values: r.entries.map((e) => e.stat?.mean ?? null),
    spread: r.entries.map((e) => e.stat?.std ?? null),
  }));
}

/**
 * The plots of the study: per fraction table one plot per initialisation
 * (its methods against labelled fraction), per augmentation table one plot
 * of every row against augmentation.
 */
export function studyPlots(r: StudyResults): StudyPlot[] {
  const plots: StudyPlot[] = [];
  for (const t of r.tables) {
    const yLabel = `${t.metric} (val)`;
    if (t.axis === "augment") {
      plots.push({
        name: `${t.id}.svg`,
        table: t.id,
        svg: renderCategoryPlotSvg({
          title: t.title,
          categories: t.headings,
          yLabel,
          series: series(t.rows),
        }),
      });
      continue;
    }
    for (const init of INIT_KINDS) {
      const rows = t.rows.filter((row) => row.init === init);
      if (rows.length === 0) continue;
      plots.push({
        name: `${t.id}-${init}.svg`,
        table: t.id,
        svg: renderCategoryPlotSvg({
          title: `${t.title}: ${INITS[init].label}`,
          categories: t.headings,
          yLabel,
          series: series(rows),
        }),
      });
    }
  }
  return plots;
}

/** The whole report as Markdown (tables, then the plots by file name). */
export function studyMarkdown(r: StudyResults, plots: StudyPlot[]): string {
  const c = r.counts;
  const lines = [
    `# Study ${r.grid.name}`,
    "",
    `Cells finished: ${c.done} of ${c.total}` +
    (c.failed ? `, ${c.failed} failed` : "") +
    (c.started ? `, ${c.started} started` : "") +
    (c.pending ? `, ${c.pending} not started` : "") +
    `. Seeds ${r.grid.seeds.join(", ")}; design ${r.grid.design}.`,
    "",
    "Each entry is the mean ± std over seeds (×100, on val), then its Δ against " +
    "the random-init supervised entry of the same column; `[n/N seeds]` marks an " +
    "entry with seeds missing, `–` one with none finished.",
  ];
  for (const t of r.tables) {
    lines.push("", `## ${t.title}`, "", tableMarkdown(t));
    const base = baselineMarkdown(t);
    if (base) {
      lines.push(
        "",
        "Self-training against the compute-matched supervised baseline each run trains (SPEC §9):",
        "",
        base,
      );
    }
    for (const p of plots.filter((p) => p.table === t.id)) {
      lines.push("", `![${p.name}](plots/${p.name})`);
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * Reads the study in `dirs[0]` (merging finished cells of the same grid
 * from the other folders) and writes `study_results.json`, `study.md` and
 * `plots/*.svg` into `out` (default `dirs[0]`).
 */
export async function writeStudyReport(
  dirs: readonly string[],
  out: string = dirs[0],
): Promise<StudyResults> {
  const grid = await readStudyGrid(dirs[0]);
  for (const d of dirs.slice(1)) {
    const other = await readStudyGrid(d);
    if (!sameGrid(other, grid)) {
      throw new Error(
        `${d}/study.json: a different grid than ${
          dirs[0]
        }; only folders of one grid merge`,
      );
    }
  }
  const results = buildResults(grid, await readCells(grid, dirs));
  const plots = studyPlots(results);
  await Deno.mkdir(`${out}/plots`, { recursive: true });
  for (const p of plots) await writeFileAtomic(`${out}/plots/${p.name}`, p.svg);
  await writeJsonAtomic(`${out}/study_results.json`, results);
  await writeFileAtomic(`${out}/study.md`, studyMarkdown(results, plots));
  return results;
}
