/**
 * The study runner with a fake job runner (no training): study.json is
 * written once and a different grid is refused; finished cells are
 * skipped; an interrupted cell is run again in its own folder; a failure
 * is recorded without stopping the others; pre-training runs first, and a
 * shard never starts a cell whose pre-training has not finished.
 */
import assert from "node:assert/strict";
import { readJson } from "../core/fs.ts";
import {
  CELL_STATE_FILE,
  enumerateStudy,
  type JobRunner,
  type JobState,
  openStudyDir,
  readStudyGrid,
  runStudy,
  STUDY_FILE,
} from "../study/mod.ts";
import {
  detTask,
  fakeRunner,
  smallGrid,
  tempStudyDir,
} from "./study_helpers.ts";

Deno.test("study runner: runs every cell once into its folder, then skips them all", async () => {
  const dir = await tempStudyDir();
  const grid = smallGrid([0, 1]);
  const first = fakeRunner();
  const s1 = await runStudy({ dir, grid, run: first.run });
  const all = enumerateStudy(grid, dir).cells;
  assert.deepEqual(first.ran, all.map((c) => c.id));
  assert.deepEqual(first.outs, all.map((c) => `${dir}/cells/${c.id}`));
  assert.deepEqual(s1.ran, first.ran);
  assert.deepEqual(s1.skipped, []);
  const state = await readJson<JobState>(
    `${dir}/cells/${all[0].id}/${CELL_STATE_FILE}`,
  );
  assert.equal(state.status, "done");
  assert.deepEqual(state.overrides, all[0].overrides);
  assert.deepEqual(await readStudyGrid(dir), grid);

  const second = fakeRunner();
  const s2 = await runStudy({ dir, grid, run: second.run });
  assert.deepEqual(second.ran, []);
  assert.deepEqual(s2.skipped, first.ran);
});

Deno.test("study runner: an interrupted cell (folder, no report) is run again in the same folder", async () => {
  const dir = await tempStudyDir();
  const grid = smallGrid([0]);
  const cells = enumerateStudy(grid, dir).cells;
  const victim = cells[2];
  // A killed attempt left a checkpoint and no report.
  const out = `${dir}/cells/${victim.id}`;
  await Deno.mkdir(`${out}/train/checkpoints/step-1`, { recursive: true });
  await openStudyDir(dir, grid);
  for (const c of cells) {
    if (c !== victim) {
      await Deno.mkdir(`${dir}/cells/${c.id}`, { recursive: true });
      await Deno.writeTextFile(`${dir}/cells/${c.id}/report.json`, "{}");
    }
  }
  const f = fakeRunner();
  const s = await runStudy({ dir, grid, run: f.run });
  assert.deepEqual(f.ran, [victim.id]);
  assert.deepEqual(f.outs, [out]);
  assert.equal(s.skipped.length, cells.length - 1);
  // The runner did not clear what the recipe resumes from.
  assert.ok((await Deno.stat(`${out}/train/checkpoints/step-1`)).isDirectory);
});

Deno.test("study runner: a different grid in the same folder is a one-line error and changes nothing", async () => {
  const dir = await tempStudyDir();
  await runStudy({ dir, grid: smallGrid([0]), run: fakeRunner().run });
  const before = await Deno.readTextFile(`${dir}/${STUDY_FILE}`);
  const f = fakeRunner();
  await assert.rejects(
    runStudy({ dir, grid: smallGrid([0, 1]), run: f.run }),
    (e: Error) => {
      assert.match(
        e.message,
        /study\.json: this folder holds a different grid/,
      );
      assert.ok(!e.message.includes("\n"));
      return true;
    },
  );
  assert.deepEqual(f.ran, []);
  assert.equal(await Deno.readTextFile(`${dir}/${STUDY_FILE}`), before);
  // Key order does not make a grid different.
  const g = smallGrid([0]);
  const reordered = {
    tasks: g.tasks,
    design: g.design,
    seeds: g.seeds,
    name: g.name,
  };
  await runStudy({ dir, grid: reordered, run: f.run });
});

Deno.test("study runner: a failed cell is recorded with its first error line; the others still run", async () => {
  const dir = await tempStudyDir();
  const grid = smallGrid([0]);
  const cells = enumerateStudy(grid, dir).cells;
  const f = fakeRunner(undefined, (j) => j.id === cells[1].id);
  const s = await runStudy({ dir, grid, run: f.run });
  assert.equal(f.ran.length, cells.length);
  assert.deepEqual(s.failed, [{
    id: cells[1].id,
    error: `boom in ${cells[1].id}`,
  }]);
  const state = await readJson<JobState>(
    `${dir}/cells/${cells[1].id}/${CELL_STATE_FILE}`,
  );
  assert.equal(state.status, "failed");
  assert.equal(state.error, `boom in ${cells[1].id}`);
  // A rerun retries only the failed cell.
  const again = fakeRunner();
  await runStudy({ dir, grid, run: again.run });
  assert.deepEqual(again.ran, [cells[1].id]);
});

Deno.test("study runner: a bad job config stops before anything runs, naming the job", async () => {
  const dir = await tempStudyDir();
  const f = fakeRunner();
  await assert.rejects(
    runStudy({
      dir,
      grid: smallGrid([0]),
      run: f.run,
      check: (j) => {
        if (j.recipe === "coco-selftrain") {
          throw new Error('unknown key "x"\nmore');
        }
      },
    }),
    /^Error: cells\/det-random-st-S1-f050-s0: unknown key "x"$/,
  );
  assert.deepEqual(f.ran, []);
});

const PRE_GRID = smallGrid([0, 1], {
  detection: detTask({
    inits: ["random", "imagenet"],
    methods: ["supervised"],
    augments: ["S1"],
    fractions: [1],
  }),
});

Deno.test("study runner: pre-training starts first; a cell waits for its own only, so random-init cells fill the other workers", async () => {
  for (const jobs of [1, 3]) {
    const dir = await tempStudyDir();
    const f = fakeRunner();
    const events: string[] = [];
    // Pre-training waits for a random-init cell to start (bounded, so a
    // runner that never overlaps fails the assertion below rather than
    // hanging): no race against a fixed sleep.
    let cellStarted = () => {};
    const started = new Promise<void>((r) => cellStarted = r);
    const run: JobRunner = async (job, out) => {
      events.push(`start ${job.id}`);
      if (job.id.startsWith("det-random")) cellStarted();
      if (job.stage === "pretrain" && jobs > 1) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          started,
          new Promise((r) => timer = setTimeout(r, 10_000)),
        ]);
        clearTimeout(timer);
      }
      await f.run(job, out);
      events.push(`end ${job.id}`);
    };
    await runStudy({ dir, grid: PRE_GRID, run, jobs });
    const starts = events.filter((e) => e.startsWith("start "));
    assert.equal(starts.length, 2 + 4);
    // Pre-training is taken first: with one worker it starts first; with
    // three, the first three jobs taken (both pre-trainings and a cell)
    // start in whatever order their folders are ready.
    const first = starts.slice(0, jobs === 1 ? 2 : jobs);
    for (const seed of [0, 1]) {
      assert.ok(
        first.includes(`start det-imagenet-s${seed}`),
        starts.join(", "),
      );
    }
    const at = (e: string) => events.indexOf(e);
    for (const seed of [0, 1]) {
      assert.ok(
        at(`start det-imagenet-sup-S1-f100-s${seed}`) >
          at(`end det-imagenet-s${seed}`),
        events.join(", "),
      );
    }
    // One worker runs in list order; three let random-init cells start
    // while the two pre-training jobs run.
    const overlapped = at("start det-random-sup-S1-f100-s0") <
      at("end det-imagenet-s1");
    assert.equal(overlapped, jobs > 1, events.join(", "));
  }
});

Deno.test("study runner: a shard's cell whose pre-training is unfinished is an error; after the pretrain stage it runs", async () => {
  const dir = await tempStudyDir();
  const shard1 = { index: 1, count: 2 };
  const f = fakeRunner();
  await assert.rejects(
    runStudy({
      dir,
      grid: PRE_GRID,
      run: f.run,
      shard: shard1,
      stage: "cells",
    }),
    /cells\/det-imagenet-sup-S1-f100-s\d needs pretrain\/det-imagenet-s\d, which has not finished: run --stage pretrain/,
  );
  assert.deepEqual(f.ran, []);
  for (const index of [0, 1]) {
    await runStudy({
      dir,
      grid: PRE_GRID,
      run: f.run,
      shard: { index, count: 2 },
      stage: "pretrain",
    });
  }
  assert.deepEqual(f.ran.sort(), ["det-imagenet-s0", "det-imagenet-s1"]);
  const g = fakeRunner();
  await runStudy({
    dir,
    grid: PRE_GRID,
    run: g.run,
    shard: shard1,
    stage: "cells",
  });
  assert.equal(g.ran.length, 2);
});

Deno.test("study runner: cells of a failed pre-training fail without running", async () => {
  const dir = await tempStudyDir();
  const f = fakeRunner(undefined, (j) => j.id === "det-imagenet-s1");
  const s = await runStudy({ dir, grid: PRE_GRID, run: f.run });
  assert.deepEqual(s.failed.map((x) => x.id), [
    "det-imagenet-s1",
    "det-imagenet-sup-S1-f100-s1",
  ]);
  assert.match(
    s.failed[1].error,
    /needs pretrain\/det-imagenet-s1, which did not finish/,
  );
  assert.ok(!f.ran.includes("det-imagenet-sup-S1-f100-s1"));
  assert.ok(f.ran.includes("det-imagenet-sup-S1-f100-s0"));
});

Deno.test("study runner: a cell another live process on this host holds is left to it; a lock from another host is stale", async () => {
  const dir = await tempStudyDir();
  const grid = smallGrid([0]);
  const cells = enumerateStudy(grid, dir).cells;
  const out = `${dir}/cells/${cells[0].id}`;
  await Deno.mkdir(out, { recursive: true });
  // A live process other than this one holds the lock.
  const holder = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    await Deno.writeTextFile(`${out}/study_cell.lock`, `${holder.pid}\n`);
    const f = fakeRunner();
    const s = await runStudy({ dir, grid, run: f.run });
    assert.deepEqual(s.busy, [cells[0].id]);
    assert.ok(!f.ran.includes(cells[0].id));
    // The same pid written on another host (a replaced pod) is stale.
    await Deno.writeTextFile(
      `${out}/study_cell.lock`,
      `${holder.pid} another-host-${crypto.randomUUID()}\n`,
    );
    const g = fakeRunner();
    const again = await runStudy({ dir, grid, run: g.run });
    assert.deepEqual(again.busy, []);
    assert.deepEqual(g.ran, [cells[0].id]);
  } finally {
    holder.kill();
    await holder.status;
  }
});
