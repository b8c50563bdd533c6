/**
 * A short `pascal-selftrain` run killed with SIGKILL while it journals
 * pseudo masks resumes with every pool image labelled exactly once, each
 * with a readable mask PNG; then the student and baseline phases run and
 * the report has both Δ rows, tune numbers for every model and pixel
 * statistics over the whole pool.
 */
import assert from "node:assert/strict";
import { decodeMaskPng } from "../image/mask_png.ts";
import { readCoco } from "../selftrain/mod.ts";
import { withTinySegSet } from "./recipe_helpers.ts";

const CLI = new URL("../cli/recipe.ts", import.meta.url).pathname;

function args(out: string, root: string, extra: string[]): string[] {
  return [
    "run",
    "-A",
    "--no-check",
    CLI,
    "pascal-selftrain",
    "--out",
    out,
    "--backend",
    "cpu",
    `--data.root=${root}`,
    `--data.unlabeledImages=${root}/JPEGImages`,
    "--data.tuneSplit=tune",
    "--data.inputSize=32",
    "--model.filters=8",
    "--model.lowLevelFilters=8",
    "--teacher.steps=2",
    "--teacher.batchSize=2",
    "--teacher.checkpointEvery=0",
    "--student.steps=2",
    "--student.batchSize=2",
    "--student.checkpointEvery=0",
    "--student.init=teacher",
    "--pseudo.batchSize=1",
    ...extra,
  ];
}

async function journalRecords(path: string): Promise<string[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").slice(1).filter((l) => l.endsWith("}"));
}

Deno.test("pascal-selftrain: SIGKILL while labelling, resume: no pseudo mask lost or duplicated", () =>
  withTinySegSet(
    { train: 6, tune: 3, val: 3, unlabeled: 150 },
    async (root, out) => {
      const pool = 6 + 3 + 3 + 150;
      const journal = `${out}/labels/pseudo_labels.jsonl`;
      const child = new Deno.Command(Deno.execPath(), {
        args: args(out, root, []),
        stdout: "null",
        stderr: "null",
      }).spawn();
      // Kill once a few images are journaled (polling the file; no timing).
      while ((await journalRecords(journal)).length < 5) {
        await new Promise((r) => setTimeout(r, 5));
      }
      child.kill("SIGKILL");
      assert.equal((await child.status).success, false);
      const before = (await journalRecords(journal)).length;
      assert.ok(
        before >= 5 && before < pool,
        `killed mid-labelling at ${before}`,
      );
      await assert.rejects(Deno.stat(`${out}/labels/pseudo_labels.json`));

      const resumed = await new Deno.Command(Deno.execPath(), {
        args: args(out, root, []),
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(resumed.code, 0, new TextDecoder().decode(resumed.stderr));
      const ids = (await journalRecords(journal)).map((l) =>
        JSON.parse(l).image.id
      );
      assert.equal(ids.length, pool);
      assert.equal(new Set(ids).size, pool);
      const coco = await readCoco(`${out}/labels/pseudo_labels.json`);
      assert.equal(coco.images.length, pool);
      for (const im of coco.images) {
        const m = decodeMaskPng(
          await Deno.readFile(`${out}/labels/${im.file_name}`),
        );
        assert.equal(m.width, 32);
      }
      const report = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
      for (const k of ["teacher", "baseline", "student"]) {
        for (const m of ["mIoU", "pixelAccuracy", "tune/mIoU"]) {
          assert.equal(typeof report[k].metrics[m], "number", `${k} ${m}`);
        }
      }
      for (const k of ["baseline", "teacher"]) {
        assert.equal(
          report.delta[k].mIoU,
          report.student.metrics.mIoU - report[k].metrics.mIoU,
        );
      }
      // The student fine-tunes the teacher here: a separate baseline, on the
      // student's human half.
      assert.equal(report.baseline.reusedTeacher, false);
      assert.equal(report.baseline.humanPerStep, 1);
      assert.deepEqual(
        [report.student.humanPerStep, report.student.pseudoPerStep],
        [1, 1],
      );
      // Pseudo-mask statistics cover the whole pool, the killed run's images too.
      const pl = report.pseudo_labels;
      assert.equal(pl.images, pool);
      assert.ok(pl.ignored_fraction >= 0 && pl.ignored_fraction <= 1);
      const pixels = Object.values(pl.per_class as Record<string, number>)
        .reduce((a, b) => a + b, 0);
      assert.equal(
        Math.round(pixels + pl.ignored_fraction * pool * 32 * 32),
        pool * 32 * 32,
      );
      assert.ok(pl.human_per_class.background > 0);
      const md = await Deno.readTextFile(`${out}/report.md`);
      assert.match(md, /Δ vs baseline/);
      assert.match(md, /IoU per class/);
    },
  ));
