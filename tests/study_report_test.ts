/**
 * The study report against hand-computed numbers: mean ± sample std over
 * seeds, Δ against the random-init supervised entry, Δ against the
 * recipe's compute-matched baseline, partial grids (missing seeds marked,
 * missing entries empty), merging study folders of one grid, the
 * Markdown tables, the JSON file and the SVG plots.
 */
import assert from "node:assert/strict";
import { readJson } from "../core/fs.ts";
import {
  buildResults,
  enumerateStudy,
  formatEntry,
  readCells,
  runStudy,
  type StudyCell,
  studyPlots,
  type StudyResults,
  writeStudyReport,
} from "../study/mod.ts";
import {
  AUGMENT_GRID,
  detTask,
  endedCounts,
  fakeRunner,
  smallGrid,
  tempStudyDir,
} from "./study_helpers.ts";

/** [value, baseline] per cell id, in AP fractions. */
const VALUES: Record<string, [number, number]> = {
  "det-random-sup-S1-f100-s0": [0.30, 0],
  "det-random-sup-S1-f100-s1": [0.32, 0],
  "det-random-sup-S4-f100-s0": [0.35, 0],
  "det-random-sup-S4-f100-s1": [0.39, 0],
  "det-random-st-S1-f100-s0": [0.33, 0.30],
  "det-random-st-S1-f100-s1": [0.36, 0.32],
  "det-random-st-S4-f100-s0": [0.36, 0.35],
  "det-random-st-S4-f100-s1": [0.50, 0.39],
};
const MISSING = "det-random-st-S4-f100-s1";

/** Runs AUGMENT_GRID's seeds `seeds` into `dir` with VALUES, failing MISSING. */
async function fill(dir: string, seeds: number[]): Promise<void> {
  const f = fakeRunner(
    (c: StudyCell) => VALUES[c.id],
    (j) => j.id === MISSING || !seeds.includes(Number(j.id.slice(-1))),
  );
  await runStudy({ dir, grid: AUGMENT_GRID, run: f.run });
}

function near(actual: number | null | undefined, want: number): void {
  assert.ok(
    actual !== null && actual !== undefined && Math.abs(actual - want) < 1e-9,
    `${actual} != ${want}`,
  );
}

Deno.test("study report: mean ± std over seeds and the Δ rows, by hand", async () => {
  const dir = await tempStudyDir();
  await fill(dir, [0, 1]);
  const r = await writeStudyReport([dir]);
  assert.deepEqual(r.counts, endedCounts(7, 1));
  assert.equal(r.tables.length, 1);
  const t = r.tables[0];
  assert.equal(t.axis, "augment");
  assert.deepEqual(t.headings, ["S1", "S4"]);
  assert.deepEqual(t.rows.map((x) => x.label), [
    "random init / supervised",
    "random init / self-training",
  ]);
  const [sup, st] = t.rows;
  near(sup.entries[0].stat!.mean, 31);
  near(sup.entries[0].stat!.std!, Math.SQRT2);
  near(sup.entries[1].stat!.mean, 37);
  near(sup.entries[1].stat!.std!, 2 * Math.SQRT2);
  assert.equal(sup.entries[0].delta, null, "the reference row has no Δ");
  near(st.entries[0].stat!.mean, 34.5);
  near(st.entries[0].delta!, 3.5);
  near(st.entries[0].vsBaseline!.mean, 3.5);
  near(st.entries[0].vsBaseline!.std!, Math.SQRT1_2);
  // S4: only seed 0 finished.
  assert.equal(st.entries[1].stat!.n, 1);
  assert.equal(st.entries[1].stat!.std, null);
  near(st.entries[1].delta!, 36 - 37);
  assert.equal(formatEntry(sup.entries[0]), "31.0 ± 1.4");
  assert.equal(formatEntry(st.entries[0]), "34.5 ± 2.1 (+3.5)");
  assert.equal(formatEntry(st.entries[1]), "36.0 (−1.0) [1/2 seeds]");

  const md = await Deno.readTextFile(`${dir}/study.md`);
  assert.ok(md.includes("| init / method | S1 | S4 |"), md);
  assert.ok(
    md.includes("| random init / supervised | 31.0 ± 1.4 | 37.0 ± 2.8 |"),
    md,
  );
  assert.ok(
    md.includes(
      "| random init / self-training | 34.5 ± 2.1 (+3.5) | 36.0 (−1.0) [1/2 seeds] |",
    ),
    md,
  );
  assert.ok(
    md.includes("| random init / self-training | +3.5 ± 0.7 | +1.0 |"),
    md,
  );
  assert.ok(md.includes("Cells finished: 7 of 8, 1 failed."), md);
  const json = await readJson<StudyResults>(`${dir}/study_results.json`);
  assert.deepEqual(json, JSON.parse(JSON.stringify(r)));
  const failed = json.cells.find((c) => c.id === MISSING)!;
  assert.equal(failed.status, "failed");
  assert.equal(failed.error, `boom in ${MISSING}`);
});

Deno.test("study report: a partial grid rebuilds, and folders of one grid merge into the full tables", async () => {
  const a = await tempStudyDir();
  const b = await tempStudyDir();
  await fill(a, [0]);
  await fill(b, [1]);
  const partial = await writeStudyReport([a]);
  assert.equal(partial.counts.done, 4);
  const sup = partial.tables[0].rows[0];
  assert.equal(formatEntry(sup.entries[0]), "30.0 [1/2 seeds]");
  // A folder with cells never started still reports.
  const empty = await tempStudyDir();
  await fill(empty, []);
  const none = await writeStudyReport([empty]);
  assert.equal(none.counts.done, 0);
  assert.equal(formatEntry(none.tables[0].rows[1].entries[0]), "–");
  assert.ok(
    (await Deno.readTextFile(`${empty}/study.md`)).includes("| – | – |"),
  );

  const out = await tempStudyDir();
  const merged = await writeStudyReport([a, b], out);
  const full = await tempStudyDir();
  await fill(full, [0, 1]);
  const whole = await writeStudyReport([full]);
  assert.deepEqual(merged.tables, whole.tables);
  assert.equal(
    await Deno.readTextFile(`${out}/study.md`),
    await Deno.readTextFile(`${full}/study.md`),
  );
  // Merging refuses folders of another grid.
  const other = await tempStudyDir();
  await runStudy({ dir: other, grid: smallGrid([0]), run: fakeRunner().run });
  await assert.rejects(writeStudyReport([a, other]), /a different grid than/);
});

Deno.test("study report: started and pending cells are told apart", async () => {
  const dir = await tempStudyDir();
  await fill(dir, [0]);
  const cells = enumerateStudy(AUGMENT_GRID, dir).cells;
  const seed1 = cells.filter((c) => c.seed === 1);
  // Seed-1 cells failed in fill; make one look merely started, one never touched.
  await Deno.remove(`${dir}/cells/${seed1[0].id}/study_cell.json`);
  await Deno.remove(`${dir}/cells/${seed1[1].id}`, { recursive: true });
  const r = buildResults(AUGMENT_GRID, await readCells(AUGMENT_GRID, [dir]));
  const status = new Map(r.cells.map((c) => [c.id, c.status]));
  assert.equal(status.get(seed1[0].id), "started");
  assert.equal(status.get(seed1[1].id), "pending");
  assert.equal(status.get(cells[0].id), "done");
});

Deno.test("study report: a fraction table per augmentation and one plot per init; the augmentation plot has every row", async () => {
  const grid = smallGrid([0], {
    detection: detTask({ augments: ["S1", "S4"], fractions: [0.2, 1] }),
  }, "paper");
  const dir = await tempStudyDir();
  await runStudy({ dir, grid, run: fakeRunner(() => [0.25, 0.2]).run });
  const r = await writeStudyReport([dir]);
  assert.deepEqual(r.tables.map((t) => t.id), [
    "detection-augment-100pct",
    "detection-fraction-S4",
  ]);
  assert.deepEqual(r.tables[1].headings, ["20%", "100%"]);
  const plots = studyPlots(r);
  assert.deepEqual(plots.map((p) => p.name), [
    "detection-augment-100pct.svg",
    "detection-fraction-S4-random.svg",
  ]);
  for (const p of plots) {
    assert.ok(p.svg.startsWith("<svg"));
    // One point per row and column.
    assert.equal(p.svg.match(/<circle /g)?.length, 2 * 2);
    assert.ok(p.svg.includes('data-series="random init / self-training"'));
    assert.equal(
      await Deno.readTextFile(`${dir}/plots/${p.name}`),
      p.svg,
    );
  }
  const md = await Deno.readTextFile(`${dir}/study.md`);
  assert.ok(
    md.includes(
      "![detection-fraction-S4-random.svg](plots/detection-fraction-S4-random.svg)",
    ),
  );
  assert.ok(
    md.includes("## detection: AP by labelled fraction, augmentation S4"),
  );
});

Deno.test("study report: segmentation reads mIoU from both recipes' reports", async () => {
  const grid = smallGrid([0], {
    segmentation: detTask({ augments: ["S1"], fractions: [1] }),
  });
  const dir = await tempStudyDir();
  const values: Record<string, [number, number]> = {
    "seg-random-sup-S1-f100-s0": [0.5, 0],
    "seg-random-st-S1-f100-s0": [0.56, 0.52],
  };
  await runStudy({ dir, grid, run: fakeRunner((c) => values[c.id]).run });
  const r = await writeStudyReport([dir]);
  assert.equal(r.tables[0].metric, "mIoU");
  const st = r.tables[0].rows[1].entries[0];
  near(st.stat!.mean, 56);
  near(st.delta!, 6);
  near(st.vsBaseline!.mean, 4);
});

Deno.test("study report: a report without the metric is a one-line error naming the file", async () => {
  const dir = await tempStudyDir();
  const grid = smallGrid([0], {
    detection: detTask({ augments: ["S1"], fractions: [1] }),
  });
  await runStudy({ dir, grid, run: fakeRunner().run });
  const cell = enumerateStudy(grid, dir).cells[0];
  await Deno.writeTextFile(
    `${dir}/cells/${cell.id}/report.json`,
    '{"metrics":{}}',
  );
  await assert.rejects(
    writeStudyReport([dir]),
    new RegExp(`cells/${cell.id}/report.json: no metrics AP number$`),
  );
});
