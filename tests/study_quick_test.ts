/**
 * The quick preset end to end with the real recipes (tiny sets, 2 steps):
 * the tables' structure; one shard run alone gives a partial report;
 * its cells equal the full run's bit for bit (determinism); merged with
 * the full run's folder it gives the same tables. A cell killed with
 * SIGKILL mid-training resumes from its checkpoint when the study is run
 * again, and ends as an uninterrupted run does.
 */
import assert from "node:assert/strict";
import { readJson } from "../core/fs.ts";
import {
  applySets,
  inProcessRunner,
  recipeCommandArgs,
  subprocessRunner,
} from "../cli/study.ts";
import { buildPreset } from "../cli/study_presets.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";
import {
  type JobRunner,
  runStudy,
  type StudyGrid,
  writeStudyReport,
} from "../study/mod.ts";
import { endedCounts, tempStudyDir } from "./study_helpers.ts";

Deno.test("study quick preset: tables from real runs; a shard alone is partial, equals the full run bit for bit, and merges back", async () => {
  const registry = createBuiltinRegistry();
  const { grid } = await buildPreset("quick", registry);
  const run = inProcessRunner(registry, "wasm", false);
  const full = await tempStudyDir();
  const s = await runStudy({ dir: full, grid, run });
  assert.deepEqual(s.failed, []);
  assert.equal(s.ran.length, 8);
  const r = await writeStudyReport([full]);
  assert.deepEqual(r.counts, endedCounts(8, 0));
  assert.deepEqual(r.tables.map((t) => [t.id, t.metric, t.headings]), [
    ["detection-fraction-S1", "AP", ["50%", "100%"]],
    ["segmentation-fraction-S1", "mIoU", ["50%", "100%"]],
  ]);
  for (const t of r.tables) {
    assert.deepEqual(t.rows.map((x) => x.label), [
      "random init / supervised",
      "random init / self-training",
    ]);
    for (const [i, row] of t.rows.entries()) {
      for (const e of row.entries) {
        assert.equal(e.stat!.n, 1);
        assert.ok(e.stat!.mean >= 0 && e.stat!.mean <= 100);
        assert.equal(e.delta === null, i === 0);
        // Self-training cells carry their compute-matched baseline.
        assert.equal(e.vsBaseline === null, i === 0);
      }
    }
  }
  // The detection teacher trained like the supervised cell: same numbers.
  const cells = new Map(r.cells.map((c) => [c.id, c]));
  assert.equal(
    cells.get("det-random-st-S1-f050-s0")!.baseline,
    cells.get("det-random-sup-S1-f050-s0")!.value,
  );

  const shard = await tempStudyDir();
  await runStudy({ dir: shard, grid, run, shard: { index: 1, count: 2 } });
  const partial = await writeStudyReport([shard]);
  assert.equal(partial.counts.done, 4);
  assert.equal(partial.counts.pending, 4);
  const md = await Deno.readTextFile(`${shard}/study.md`);
  assert.match(md, /Cells finished: 4 of 8, 4 not started\./);
  assert.match(md, /\| random init \/ supervised \| – \| [\d.]+ \|/);
  for (const c of partial.cells.filter((x) => x.status === "done")) {
    const f = cells.get(c.id)!;
    assert.deepEqual([c.value, c.tune, c.baseline], [
      f.value,
      f.tune,
      f.baseline,
    ], c.id);
    assert.deepEqual(
      await readJson(`${shard}/cells/${c.id}/report.json`).then(metricsOf),
      await readJson(`${full}/cells/${c.id}/report.json`).then(metricsOf),
    );
  }
  const merged = await writeStudyReport([shard, full], await tempStudyDir());
  assert.deepEqual(merged.tables, r.tables);
});

/** The metric blocks of a report (timings differ between runs). */
function metricsOf(report: unknown): unknown {
  const r = report as Record<string, unknown>;
  return ["metrics", "teacher", "student", "baseline"].map((k) => r[k] ?? null);
}

/** One supervised detection cell of the quick preset, trained for 20 steps. */
async function oneCellGrid(): Promise<StudyGrid> {
  const registry = createBuiltinRegistry();
  const { grid } = await buildPreset("quick", registry);
  const det = grid.tasks.detection!;
  const g: StudyGrid = {
    ...grid,
    name: "resume",
    tasks: {
      detection: { ...det, methods: ["supervised"], fractions: [1] },
    },
  };
  applySets(registry, g, ["train.steps=20"]);
  return g;
}

/** Runs the recipe CLI and SIGKILLs it once a checkpoint exists. */
const killedRunner: JobRunner = async (job, out) => {
  const child = new Deno.Command(Deno.execPath(), {
    args: recipeCommandArgs(job, out, "wasm"),
    stdout: "null",
    stderr: "null",
  }).spawn();
  const ckpt = `${out}/train/checkpoints`;
  for (;;) {
    const names = await Array.fromAsync(Deno.readDir(ckpt)).catch(() => []);
    if (names.some((e) => e.name.startsWith("step-"))) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill("SIGKILL");
  const status = await child.status;
  throw new Error(`killed (exit ${status.code})`);
};

Deno.test("study resume: a cell killed mid-training continues from its checkpoint and ends as an uninterrupted one", async () => {
  const grid = await oneCellGrid();
  const id = "det-random-sup-S1-f100-s0";
  const clean = await tempStudyDir();
  await runStudy({
    dir: clean,
    grid,
    run: inProcessRunner(createBuiltinRegistry(), "wasm", false),
  });
  const killed = await tempStudyDir();
  const first = await runStudy({ dir: killed, grid, run: killedRunner });
  assert.equal(first.failed.length, 1);
  await assert.rejects(Deno.stat(`${killed}/cells/${id}/report.json`));
  const again = await runStudy({
    dir: killed,
    grid,
    run: subprocessRunner("wasm", 1),
  });
  assert.deepEqual(again.ran, [id]);
  const events = await Deno.readTextFile(`${killed}/cells/${id}/events.jsonl`);
  assert.match(events, /train: resumed from .*step-0*\d+ at step \d+/);
  assert.deepEqual(
    (await readJson<{ metrics: unknown }>(`${killed}/cells/${id}/report.json`))
      .metrics,
    (await readJson<{ metrics: unknown }>(`${clean}/cells/${id}/report.json`))
      .metrics,
  );
  assert.match(
    await Deno.readTextFile(`${killed}/cells/${id}/cell.log`),
    /report: /,
  );
});
