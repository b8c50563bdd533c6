/**
 * `deno task study`'s pieces: the wall-time estimates (by hand from their
 * constants), the presets' grids (the cpu preset within its budget, and
 * growing its rows when pre-training exists), `--set`, and the command
 * line's one-line errors and `report`.
 */
import assert from "node:assert/strict";
import type { ConfigObject } from "../core/config.ts";
import { PLUGIN_KINDS, type Recipe, Registry } from "../core/registry.ts";
import { applySets, main } from "../cli/study.ts";
import { estimateJobSeconds } from "../cli/study_cost.ts";
import {
  buildPreset,
  CPU_BUDGET_SECONDS,
  estimateGridSeconds,
} from "../cli/study_presets.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";
import {
  enumerateStudy,
  gridRows,
  openStudyDir,
  runStudy,
  type StudyJob,
} from "../study/mod.ts";
import { fakeRunner, smallGrid, tempStudyDir } from "./study_helpers.ts";

const job = (
  recipe: string,
  overrides: Record<string, string> = {},
): StudyJob => ({
  id: "x",
  stage: "cells",
  recipe,
  overrides,
});

Deno.test("study cost: estimates follow the recipes' steps, batches and sizes", () => {
  const r = createBuiltinRegistry();
  // 15 s fixed + 1600 steps x 8 images x 0.02 s.
  assert.equal(
    estimateJobSeconds(r, job("coco-supervised")),
    15 + 1600 * 8 * 0.02,
  );
  assert.equal(
    estimateJobSeconds(
      r,
      job("coco-supervised", { "train.steps": "400", "data.inputSize": "256" }),
    ),
    15 + 400 * 8 * 0.02 * 4,
  );
  // Teacher reused as the baseline: teacher + labelling 1500 + student (0.55 per image).
  const st = 30 + 1500 * 0.01 + 1600 * 8 * 0.02 + 1600 * 16 * 0.02 * 0.55;
  assert.ok(Math.abs(estimateJobSeconds(r, job("coco-selftrain")) - st) < 1e-9);
  // A student from the teacher needs its own baseline (human half of each batch).
  assert.ok(
    Math.abs(
      estimateJobSeconds(
        r,
        job("coco-selftrain", { "student.init": "teacher" }),
      ) -
        (st + 1600 * 16 * 0.02 * 0.5),
    ) < 1e-9,
  );
  // Segmentation's paper protocol reuses the teacher too.
  const seg = 30 + 800 * 0.0125 + 1600 * 8 * 0.014 + 1600 * 16 * 0.014;
  assert.ok(
    Math.abs(estimateJobSeconds(r, job("pascal-selftrain")) - seg) < 1e-9,
  );
  // Fine-tuning the teacher: a baseline on the student's human half.
  const ft = { "student.init": "teacher", "student.steps": "800" };
  assert.ok(
    Math.abs(
      estimateJobSeconds(r, job("pascal-selftrain", ft)) -
        (30 + 800 * 0.0125 + 1600 * 8 * 0.014 + 2 * 800 * 16 * 0.014 * 0.75),
    ) < 1e-9,
  );
  // Pre-training: the cpu study's measured times.
  assert.equal(estimateJobSeconds(r, job("pretrain-simclr")), 450);
  assert.equal(estimateJobSeconds(r, job("pretrain-supervised")), 290);
});

Deno.test("study presets: quick is 2 methods x 2 fractions per task; cpu fits its budget with the paper's sweeps", async () => {
  const r = registryVariant(false);
  const quick = (await buildPreset("quick", r)).grid;
  for (const t of [quick.tasks.detection!, quick.tasks.segmentation!]) {
    assert.equal(gridRows(t).length, 2);
    assert.deepEqual(t.fractions, [0.5, 1]);
    assert.deepEqual(t.augments, ["S1"]);
  }
  assert.equal(enumerateStudy(quick, "D").cells.length, 8);

  const cpu = await buildPreset("cpu", r);
  assert.equal(cpu.jobs, 2);
  assert.equal(cpu.grid.design, "paper");
  assert.deepEqual(cpu.grid.seeds, [0, 1]);
  const det = cpu.grid.tasks.detection!;
  assert.deepEqual(det.augments, ["S1", "S2", "S3", "S4"]);
  assert.deepEqual(det.fractions, [0.2, 0.5, 1]);
  const est = estimateGridSeconds(r, cpu.grid, cpu.jobs);
  assert.ok(
    est <= CPU_BUDGET_SECONDS && CPU_BUDGET_SECONDS < 3 * 3600,
    `${est}`,
  );
  assert.ok(
    cpu.notes.some((n) =>
      /no imagenet init \(recipe pretrain-supervised is not registered\)/.test(
        n,
      )
    ),
  );
  assert.ok(cpu.notes.at(-1)!.startsWith("steps at "));
  await assert.rejects(
    buildPreset("paper", r),
    /--preset paper needs --coco DIR/,
  );
  await assert.rejects(
    buildPreset("huge", r),
    /unknown preset "huge" \(quick, cpu, paper\)/,
  );
});

/**
 * The built-in registry, with pre-training (both pre-training recipes, fake
 * where missing, and `model.init` on every task recipe) or without it
 * (no `pretrain-*` recipe), whatever has been merged.
 */
function registryVariant(pretraining: boolean): Registry {
  const base = createBuiltinRegistry();
  const reg = new Registry();
  for (const kind of PLUGIN_KINDS) {
    for (const e of base.entries(kind)) {
      if (kind === "recipe" && e.name.startsWith("pretrain-") && !pretraining) {
        continue;
      }
      if (pretraining && kind === "recipe" && /^(coco|pascal)-/.test(e.name)) {
        const r = e as Recipe<ConfigObject>;
        const model = { init: "random", ...(r.defaults.model as ConfigObject) };
        reg.register("recipe", { ...r, defaults: { ...r.defaults, model } });
      } else reg.register(kind, e as never);
    }
  }
  for (const name of ["pretrain-supervised", "pretrain-simclr"]) {
    if (!pretraining || reg.has("recipe", name)) continue;
    reg.register("recipe", {
      name,
      description: "fake",
      defaults: { seed: 0 },
      help: {},
      run: () => Promise.resolve({}),
    });
  }
  return reg;
}

Deno.test("study presets: with pre-training available, cpu adds the inits, their pre-training jobs and pre-training + self-training, still within budget", async () => {
  const r = registryVariant(true);
  const cpu = await buildPreset("cpu", r);
  const rows = gridRows(cpu.grid.tasks.detection!)
    .filter((x) => x.method !== "joint")
    .map((x) => `${x.init}/${x.method}`);
  assert.deepEqual(rows, [
    "random/supervised",
    "random/self-training",
    "imagenet/supervised",
    "imagenet/pretrain-self-training",
  ]);
  // Three inits do not fit 2.75 h at half the steps: the grid drops SimCLR
  // and S2/S3 before detection's steps go under half, as the notes say.
  assert.deepEqual(cpu.grid.tasks.detection!.augments, ["S1", "S4"]);
  assert.deepEqual(cpu.grid.tasks.segmentation!.inits, ["random"]);
  assert.ok(cpu.notes.some((n) => n.startsWith("to fit the budget: ")));
  const plan = enumerateStudy(cpu.grid, "D");
  assert.deepEqual(plan.pretrain.map((p) => p.id), [
    "det-imagenet-s0",
    "det-imagenet-s1",
  ]);
  assert.ok(
    Number(
      cpu.grid.tasks.detection!.overrides["coco-supervised"]["train.steps"],
    ) >= 800,
  );
  assert.ok(estimateGridSeconds(r, cpu.grid, cpu.jobs) <= CPU_BUDGET_SECONDS);
  assert.ok(!cpu.notes.some((n) => /no (imagenet|simclr)/.test(n)));
  // A longer budget keeps the whole grid.
  const long = await buildPreset("cpu", r, { budgetSeconds: 12 * 3600 });
  assert.deepEqual(long.grid.tasks.detection!.augments, [
    "S1",
    "S2",
    "S3",
    "S4",
  ]);
  assert.deepEqual(long.grid.tasks.segmentation!.inits, [
    "random",
    "imagenet",
    "simclr",
  ]);
  assert.ok(!long.notes.some((n) => n.startsWith("to fit the budget")));
  assert.ok(estimateGridSeconds(r, long.grid, 2) <= 12 * 3600);
});

Deno.test("study cli: --set reaches every recipe that has the key, and an unknown key is an error", async () => {
  const r = createBuiltinRegistry();
  const { grid } = await buildPreset("quick", r);
  applySets(r, grid, ["model.bnMomentum=0.5", "teacher.steps=3"]);
  assert.equal(
    grid.tasks.detection!.overrides["coco-supervised"]["model.bnMomentum"],
    "0.5",
  );
  assert.equal(
    grid.tasks.segmentation!.overrides["pascal-selftrain"]["model.bnMomentum"],
    "0.5",
  );
  assert.equal(
    grid.tasks.detection!.overrides["coco-selftrain"]["teacher.steps"],
    "3",
  );
  assert.equal(
    grid.tasks.detection!.overrides["coco-supervised"]["teacher.steps"],
    undefined,
  );
  assert.throws(
    () => applySets(r, grid, ["nope.key=1"]),
    /--set nope\.key: no recipe of the grid has it/,
  );
  assert.throws(
    () => applySets(r, grid, ["novalue"]),
    /--set expects KEY=VALUE/,
  );
});

Deno.test("study cli: a folder of another grid is refused before anything runs; report prints the tables", async () => {
  const dir = await tempStudyDir();
  await openStudyDir(dir, smallGrid([0]));
  await assert.rejects(
    main([
      "--preset",
      "quick",
      "--out",
      dir,
      "--in-process",
      "--backend",
      "wasm",
    ]),
    /study\.json: this folder holds a different grid \("test"\)/,
  );
  await assert.rejects(
    main(["--preset", "quick", "--stage", "two"]),
    /--stage must be all, pretrain, cells/,
  );
  await assert.rejects(
    main(["--preset", "quick", "--jobs", "0", "--dry-run"]),
    /--jobs expects a whole number/,
  );

  await runStudy({
    dir,
    grid: smallGrid([0]),
    run: fakeRunner(() => [0.3, 0.3]).run,
  });
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    assert.equal(await main(["report", dir]), 0);
  } finally {
    console.log = log;
  }
  const out = lines.join("\n");
  assert.match(out, /study\.md: 8 of 8 cells finished/);
  assert.match(
    out,
    /\| random init \/ self-training \| 30\.0 \(\+0\.0\) \| 30\.0 \(\+0\.0\) \|/,
  );
});
