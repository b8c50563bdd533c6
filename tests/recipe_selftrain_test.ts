/**
 * End to end: `coco-selftrain` on the tiny shapes set — the full loop and
 * its report, sharded labelling merged into the file an unsharded run
 * writes, and a run killed while pseudo-labelling that resumes without
 * losing or repeating an image.
 */
import assert from "node:assert/strict";
import { COCO_METRIC_NAMES, readCocoDataset } from "../eval/mod.ts";
import { mergeShardFiles } from "../selftrain/shard.ts";
import type { SyntheticOptions } from "../plugins/synthetic/mod.ts";
import {
  killWhen,
  readEvents,
  readJsonFile,
  runTiny,
  selfTrainCliArgs,
  tempOut,
  TINY_SELFTRAIN,
  tinyCocoData,
  tinySet,
} from "./recipe_helpers.ts";

interface SelfTrainReport {
  teacher: { metrics: Record<string, number>; steps: number };
  baseline: {
    metrics: Record<string, number>;
    steps: number;
    init: string;
    humanPerStep: number;
  };
  student: {
    metrics: Record<string, number>;
    steps: number;
    humanPerStep: number;
    pseudoPerStep: number;
  };
  delta: Record<"baseline" | "teacher", Record<string, number>>;
  pseudo_labels: {
    previews: string[];
    per_class: Record<string, number>;
    human_per_class: Record<string, number>;
  };
}

interface PseudoFile {
  images: { id: number; width: number; height: number }[];
  annotations: { image_id: number; bbox: number[]; score: number }[];
  categories: { id: number }[];
}

/** Checks the pseudo-label file labels every unlabelled image once, in bounds. */
async function checkPseudoFile(
  path: string,
  set: Partial<SyntheticOptions> = {},
): Promise<PseudoFile> {
  const file = await readJsonFile<PseudoFile>(path);
  const pool = await readCocoDataset((await tinySet(set)).unlabeled);
  const ids = file.images.map((im) => im.id).sort((a, b) => a - b);
  assert.deepEqual(ids, pool.images.map((im) => im.id).sort((a, b) => a - b));
  const size = new Map(file.images.map((im) => [im.id, im]));
  for (const a of file.annotations) {
    const im = size.get(a.image_id);
    assert.ok(im, `annotation of unknown image ${a.image_id}`);
    const [x, y, w, h] = a.bbox;
    assert.ok(x >= -1e-3 && y >= -1e-3 && w >= 0 && h >= 0, `${a.bbox}`);
    assert.ok(x + w <= im.width + 1e-3 && y + h <= im.height + 1e-3);
    assert.ok(a.score >= 0.001 && a.score <= 1);
  }
  return file;
}

Deno.test("coco-selftrain: teacher, pseudo-labels, student and the report", async () => {
  const out = await tempOut("selftrain");
  try {
    const { report } = await runTiny("coco-selftrain", out, TINY_SELFTRAIN);
    const saved = await readJsonFile<Record<string, unknown>>(
      `${out}/report.json`,
    );
    assert.deepEqual(saved, report);
    assert.equal(saved.recipe, "coco-selftrain");
    assert.equal(saved.seed, 0);
    assert.equal(saved.backend, "wasm");
    assert.ok(typeof saved.seconds === "number" && saved.seconds > 0);
    const names = [...COCO_METRIC_NAMES];
    for (const who of ["teacher", "baseline", "student"]) {
      const m = (saved[who] as { metrics: Record<string, number> }).metrics;
      // Val's 12 numbers, and tune's under `tune/` for choosing settings.
      assert.deepEqual(
        Object.keys(m).sort(),
        [...names, ...names.map((k) => `tune/${k}`)].sort(),
      );
      for (const [k, v] of Object.entries(m)) {
        assert.ok(v === -1 || (v >= 0 && v <= 1), `${who} ${k}`);
      }
    }
    // The compute-matched baseline: the student's steps, at least as many
    // human images per step, the student's initialisation.
    const r = saved as unknown as SelfTrainReport;
    assert.equal(r.teacher.steps, 4);
    assert.equal(r.student.steps, 3);
    assert.equal(r.baseline.steps, r.student.steps);
    assert.equal(r.student.humanPerStep + r.student.pseudoPerStep, 4);
    assert.ok(r.baseline.humanPerStep >= r.student.humanPerStep);
    // Default: the student's human half (the same batches, no pseudo half).
    assert.equal(r.baseline.humanPerStep, 2);
    assert.equal(r.baseline.init, "random");
    for (const k of names) {
      const [s, b, t] = [r.student, r.baseline, r.teacher].map((x) =>
        x.metrics[k]
      );
      if (s < 0 || b < 0) continue;
      assert.ok(Math.abs(r.delta.baseline[k] - (s - b)) < 1e-12, k);
      assert.ok(Math.abs(r.delta.teacher[k] - (s - t)) < 1e-12, k);
    }
    const pl = saved.pseudo_labels as { images: number; boxes: number };
    const file = await checkPseudoFile(`${out}/labels/pseudo_labels.json`);
    assert.equal(pl.images, file.images.length);
    assert.equal(pl.boxes, file.annotations.length);
    assert.ok(pl.boxes > 0, "the low threshold keeps some boxes");

    const md = await Deno.readTextFile(`${out}/report.md`);
    assert.match(
      md,
      /\| metric \| teacher \| baseline \| student \| Δ vs baseline \| Δ vs teacher \|/,
    );
    assert.match(md, /\| AP \|/);
    assert.match(md, /pseudo_\d+\.jpg/);
    assert.ok(r.pseudo_labels.previews.length > 0);
    assert.deepEqual(
      Object.keys(r.pseudo_labels.human_per_class).sort(),
      Object.keys(r.pseudo_labels.per_class).sort(),
    );
    const svg = await Deno.readTextFile(`${out}/curves.svg`);
    assert.match(svg, /^<svg[\s>]/);
    const steps = (await readEvents(out)).filter((e) => e.type === "step");
    assert.equal(steps.filter((e) => e.phase === "teacher").length, 4);
    assert.equal(steps.filter((e) => e.phase === "student").length, 3);
    assert.equal(steps.filter((e) => e.phase === "baseline").length, 3);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("coco-selftrain: two label shards merged equal an unsharded labelling; the student uses the merged file", async () => {
  const sharded = await tempOut("sharded");
  const whole = await tempOut("whole");
  try {
    const run = (out: string, extra: Record<string, string>) =>
      runTiny("coco-selftrain", out, { ...TINY_SELFTRAIN, ...extra });
    // The teacher first; each shard reloads it from its checkpoint.
    await run(sharded, { phase: "teacher" });
    await run(sharded, { phase: "label", shard: "0/2" });
    await run(sharded, { phase: "label", shard: "1/2" });
    const labelEnds = (await readEvents(sharded)).filter((e) =>
      e.type === "phase-end" && e.phase === "teacher"
    );
    assert.deepEqual(labelEnds.map((e) => e.skipped), [false, true, true]);
    const merged = `${sharded}/pseudo_labels.json`;
    await mergeShardFiles([`${sharded}/labels`], merged);

    // The same teacher labels the whole pool in one go.
    await Deno.mkdir(`${whole}/teacher`);
    await copyTree(`${sharded}/teacher`, `${whole}/teacher`);
    await run(whole, { phase: "label" });
    const unsharded = `${whole}/labels/pseudo_labels.json`;
    assert.deepEqual(
      await checkPseudoFile(merged),
      await checkPseudoFile(unsharded),
    );
    assert.equal(
      await Deno.readTextFile(merged),
      await Deno.readTextFile(unsharded),
    );

    const { report } = await run(sharded, {});
    const pl = report.pseudo_labels as {
      file: string;
      images: number;
      boxes: number;
    };
    assert.equal(pl.file, merged);
    const file = await readJsonFile<PseudoFile>(merged);
    assert.equal(pl.images, file.images.length);
    assert.equal(pl.boxes, file.annotations.length);
    const ends = (await readEvents(sharded)).filter((e) =>
      e.type === "phase-end"
    ).map((e) => [e.phase, e.skipped]);
    assert.deepEqual(ends.slice(-6), [
      ["teacher", true],
      ["label", true],
      ["student-eval", false],
      ["student", false],
      ["baseline-eval", false],
      ["baseline", false],
    ]);
  } finally {
    await Deno.remove(sharded, { recursive: true });
    await Deno.remove(whole, { recursive: true });
  }
});

/** Pool of the kill test: large enough that labelling outlasts the kill. */
const KILL_POOL = { unlabeled: 96 };

Deno.test("coco-selftrain CLI: killed while pseudo-labelling, a re-run resumes without a missing or repeated image", async () => {
  const out = await tempOut("killed");
  try {
    const args = selfTrainCliArgs(out, {
      ...TINY_SELFTRAIN,
      ...await tinyCocoData(KILL_POOL),
      "pseudo.batchSize": "2",
    });
    const { status, seen, killed } = await killWhen(
      args,
      /^label \d+\/\d+/m,
    );
    assert.ok(killed, `no label progress line; stderr:\n${seen}`);
    assert.equal(status.signal, "SIGKILL");
    const coco = `${out}/labels/pseudo_labels.json`;
    const journal =
      (await Deno.readTextFile(`${out}/labels/pseudo_labels.jsonl`))
        .split("\n").filter((l) => l.trim()).length - 1;
    // 48 teacher batches remain when the first one is reported.
    assert.ok(
      journal < KILL_POOL.unlabeled,
      `${journal} labelled before the kill`,
    );
    await assert.rejects(Deno.stat(coco), Deno.errors.NotFound);
    const before = (await readEvents(out)).length;

    const rerun = await new Deno.Command(Deno.execPath(), {
      args,
      stdout: "null",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(rerun.stderr);
    assert.equal(rerun.code, 0, stderr);
    const events = (await readEvents(out)).slice(before);
    const ends = events.filter((e) => e.type === "phase-end");
    assert.deepEqual(ends.map((e) => [e.phase, e.skipped]), [
      ["teacher", true],
      ["label", false],
      ["student-eval", false],
      ["student", false],
      ["baseline-eval", false],
      ["baseline", false],
    ]);
    assert.ok(!events.some((e) => e.type === "step" && e.phase === "teacher"));
    const first = events.find((e) =>
      e.type === "progress" && e.phase === "label"
    ) as { done: number } | undefined;
    assert.ok(first && first.done > 2, "the re-run starts after the journal");

    const file = await checkPseudoFile(coco, KILL_POOL);
    const lines = (await Deno.readTextFile(`${out}/labels/pseudo_labels.jsonl`))
      .split("\n").filter((l) => l.trim());
    assert.equal(lines.length, 1 + file.images.length);
    const report = await readJsonFile<{ pseudo_labels: { images: number } }>(
      `${out}/report.json`,
    );
    assert.equal(report.pseudo_labels.images, KILL_POOL.unlabeled);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

async function copyTree(from: string, to: string): Promise<void> {
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) {
      await Deno.mkdir(`${to}/${e.name}`);
      await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    } else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}
