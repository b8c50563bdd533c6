/**
 * End to end: `coco-supervised` on the tiny built-in shapes set (metrics,
 * COCO results, checkpoint, phase skipping), and config errors of the
 * detection recipes through the CLI.
 */
import assert from "node:assert/strict";
import { COCO_METRIC_NAMES, readCocoDataset } from "../eval/mod.ts";
import { runRecipe } from "../core/runner.ts";
import { loadPlugin } from "../core/registry.ts";
import { StridedPyramid } from "../examples/custom_detection_backbone.ts";
import { latestCheckpoint, loadCheckpoint } from "../core/train/checkpoint.ts";
import { restoreModel } from "../core/train/checkpoint.ts";
import { EventBus } from "../core/events.ts";
import {
  buildDetector,
  type DetectionDataSection,
  type DetectorSection,
  evaluateDetector,
  loadDetectionData,
} from "../recipes/detection.ts";
import {
  readEvents,
  readJsonFile,
  tempOut,
  TINY_MODEL,
  TINY_SELFTRAIN,
  tinyRegistry,
  tinySet,
  tinyTrain,
} from "./recipe_helpers.ts";

const DENO = Deno.execPath();

Deno.test("coco-supervised: metrics, COCO results, checkpoint; a re-run skips the phase", async () => {
  const out = await tempOut("supervised");
  try {
    const gt = await readCocoDataset((await tinySet()).val);
    const run = () =>
      runRecipe({
        registry: tinyRegistry(),
        recipe: "coco-supervised",
        out,
        backend: "wasm",
        overrides: { ...TINY_MODEL, ...tinyTrain("train", 3) },
      });
    const first = await run();

    const metrics = await readJsonFile<Record<string, number>>(
      `${out}/train/metrics.json`,
    );
    // Val's 12 numbers, and the tune split's under `tune/`.
    assert.deepEqual(
      Object.keys(metrics).sort(),
      [...COCO_METRIC_NAMES, ...COCO_METRIC_NAMES.map((k) => `tune/${k}`)]
        .sort(),
    );
    for (const [k, v] of Object.entries(metrics)) {
      assert.ok(v === -1 || (v >= 0 && v <= 1), `${k} = ${v}`);
    }
    assert.deepEqual(
      (first.report as { metrics: unknown }).metrics,
      metrics,
    );

    const dets = await readJsonFile<
      { image_id: number; category_id: number; bbox: number[]; score: number }[]
    >(`${out}/train/detections.json`);
    assert.ok(Array.isArray(dets) && dets.length > 0);
    const imageIds = new Set(gt.images.map((im) => im.id));
    const catIds = new Set(gt.categories.map((c) => c.id));
    for (const d of dets) {
      assert.ok(imageIds.has(d.image_id), `unknown image_id ${d.image_id}`);
      assert.ok(catIds.has(d.category_id), `unknown category ${d.category_id}`);
      assert.equal(d.bbox.length, 4);
      assert.ok(d.bbox[2] >= 0 && d.bbox[3] >= 0);
      assert.ok(d.score >= 0 && d.score <= 1);
    }

    const ckPath = await latestCheckpoint(`${out}/train/checkpoints`);
    assert.ok(ckPath, "a checkpoint under train/checkpoints");
    const ck = await loadCheckpoint(ckPath);
    const registry = tinyRegistry();
    const { config } = await readJsonFile<{
      config: { model: DetectorSection; data: DetectionDataSection };
    }>(`${out}/config.json`);
    const model = buildDetector(
      registry,
      config.model,
      gt.categories.length,
      64,
      7,
    );
    restoreModel(model, ck.weights, ckPath);
    // The last checkpoint is the evaluated model: same detections again.
    const splits = await loadDetectionData(registry, config.data, 0);
    await Deno.mkdir(`${out}/again`);
    await evaluateDetector(model, splits, `${out}/again`, new EventBus(), "x");
    model.dispose();
    assert.equal(
      await Deno.readTextFile(`${out}/again/detections.json`),
      await Deno.readTextFile(`${out}/train/detections.json`),
    );
    for (const t of [...ck.weights.values(), ...ck.state.values()]) {
      t.dispose();
    }

    const before = (await readEvents(out)).length;
    const second = await run();
    const rerun = (await readEvents(out)).slice(before);
    const ends = rerun.filter((e) => e.type === "phase-end");
    assert.deepEqual(
      ends.map((e) => [e.phase, e.skipped]),
      [["train", true]],
    );
    assert.ok(!rerun.some((e) => e.type === "step"), "no training on re-run");
    assert.deepEqual(
      (second.report as { metrics: unknown }).metrics,
      metrics,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

async function cli(
  args: string[],
): Promise<{ code: number; stderr: string }> {
  const r = await new Deno.Command(DENO, {
    args: ["run", "-A", "cli/recipe.ts", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
}

Deno.test("recipe CLI: an unknown key is a one-line error naming valid keys", async () => {
  const out = await tempOut("badkey");
  try {
    const r = await cli([
      "coco-selftrain",
      "--out",
      out,
      "--teacher.stpes=3",
    ]);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /teacher\.stpes/);
    assert.match(lines[0], /teacher\.steps/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("recipe CLI: a value of the wrong type is a one-line error naming the key", async () => {
  const out = await tempOut("badtype");
  try {
    const r = await cli([
      "coco-supervised",
      "--out",
      out,
      "--train.steps=many",
    ]);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /train\.steps/);
    assert.match(lines[0], /many/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a user's detection backbone from examples/ trains in coco-supervised and coco-selftrain", async () => {
  const registry = tinyRegistry();
  await loadPlugin("./examples/custom_detection_backbone.ts", registry);
  const out = await tempOut("userdet");
  try {
    const model = { ...TINY_MODEL, "model.backbone": "strided-pyramid" };
    const supervised = await runRecipe({
      registry,
      recipe: "coco-supervised",
      out: `${out}/sup`,
      backend: "wasm",
      overrides: { ...model, ...tinyTrain("train", 2) },
    });
    const m = supervised.report.metrics as Record<string, number>;
    assert.ok(m.AP >= 0 && m.AP <= 1);
    // A backbone that declares no bnMomentum is not handed one.
    registry.register("backbone", {
      name: "no-bn-key",
      description: "the example without declared keys",
      defaults: {},
      create: () => new StridedPyramid(8, 16, 0.9),
    });
    await runRecipe({
      registry,
      recipe: "coco-supervised",
      out: `${out}/nokey`,
      backend: "wasm",
      overrides: {
        ...model,
        "model.backbone": "no-bn-key",
        ...tinyTrain("train", 1),
      },
    });
    const self = await runRecipe({
      registry,
      recipe: "coco-selftrain",
      out: `${out}/self`,
      backend: "wasm",
      overrides: { ...TINY_SELFTRAIN, ...model },
    });
    const ckpt = await latestCheckpoint(`${out}/self/student/checkpoints`);
    const { weights } = await loadCheckpoint(ckpt!);
    assert.ok(
      [...weights.keys()].some((k) => k.includes("lateral3")),
      "the student is built on the user's backbone",
    );
    assert.ok(self.report.delta);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
