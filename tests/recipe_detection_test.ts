/**
 * End to end: `coco-supervised` on the tiny built-in shapes set (metrics,
 * COCO results, checkpoint, phase skipping), and config errors of the
 * detection recipes through the CLI.
 */
import assert from "node:assert/strict";
import { COCO_METRIC_NAMES, readCocoDataset } from "../eval/mod.ts";
import { resolveConfig, runRecipe } from "../core/runner.ts";
import { DEFAULT_SHARED, type SharedSettings } from "../core/contracts.ts";
import { exists } from "../core/fs.ts";
import type { ConfigObject } from "../core/config.ts";
import { CPU_DETECTOR } from "../recipes/coco_supervised.ts";
import { loadPlugin } from "../cli/plugins.ts";
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
  runTiny,
  tempOut,
  TINY_MODEL,
  TINY_SELFTRAIN,
  tinyCocoData,
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
      runTiny("coco-supervised", out, {
        ...TINY_MODEL,
        ...tinyTrain("train", 3),
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

Deno.test("recipe CLI: --help lists the chosen backbone's own keys with help and defaults", async () => {
  const r = await new Deno.Command(DENO, {
    args: [
      "run",
      "-A",
      "cli/recipe.ts",
      "coco-supervised",
      "--model.backbone=spinenet-49",
      "--help",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(r.stdout);
  assert.equal(r.code, 0);
  assert.match(
    text,
    /--model\.backboneConfig\.variant="49"\n {6}backbone spinenet-49: 49S, 49, 96/,
  );
  assert.match(text, /--model\.backboneConfig\.dropConnect=0\n/);
  assert.match(text, /--model\.head\.aspectRatios=1,2,0\.5\n/);
  assert.match(text, /--model\.activation="auto" \[auto\|relu\|swish\|relu6\]/);
  assert.doesNotMatch(text, /convnet-fpn: /);
});

/** The `lateral3` kernel shape of the newest checkpoint under `dir`. */
async function lateral3Shape(dir: string): Promise<number[]> {
  const { weights, state } = await loadCheckpoint(
    (await latestCheckpoint(dir))!,
  );
  const shape = [...weights].find(([k]) => k.endsWith("lateral3.kernel"))!;
  const out = shape[1].shape;
  for (const t of [...weights.values(), ...state.values()]) t.dispose();
  return out;
}

Deno.test("a user's detection backbone from examples/ takes its own keys from the command line in coco-supervised and coco-selftrain", async () => {
  const out = await tempOut("userdet");
  const plugin = "./examples/custom_detection_backbone.ts";
  try {
    // Through the CLI: --plugin, then the plugin's own keys.
    const data = await tinyCocoData();
    const flags = Object.entries({
      ...data,
      ...TINY_MODEL,
      ...tinyTrain("train", 2),
      "model.backbone": "strided-pyramid",
      "model.backboneConfig.base": "8",
      "model.backboneConfig.width": "24",
    }).map(([k, v]) => `--${k}=${v}`);
    const sup = await cli([
      "coco-supervised",
      "--plugin",
      plugin,
      "--backend",
      "wasm",
      "--out",
      `${out}/sup`,
      ...flags,
    ]);
    assert.equal(sup.code, 0, sup.stderr);
    const { config } = await readJsonFile<{
      config: { model: DetectorSection };
    }>(`${out}/sup/config.json`);
    assert.deepEqual(config.model.backboneConfig, { base: 8, width: 24 });
    // base 8 doubles to 32 channels at level 3; width 24 at the outputs.
    assert.deepEqual(
      await lateral3Shape(`${out}/sup/train/checkpoints`),
      [1, 1, 32, 24],
    );

    // An unknown key of the plugin fails before any training, in one line.
    const bad = await cli([
      "coco-selftrain",
      "--plugin",
      plugin,
      "--out",
      `${out}/bad`,
      "--model.backbone=strided-pyramid",
      "--model.backboneConfig.widht=3",
    ]);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
    assert.match(
      bad.stderr,
      /backbone "strided-pyramid" \(--model\.backboneConfig\.\*\): unknown key "widht"; valid keys: base, width$/m,
    );
    assert.ok(!(await exists(`${out}/bad`)), "nothing written");

    // coco-selftrain with the same command-line overrides, in process.
    const registry = tinyRegistry();
    await loadPlugin(plugin, registry);
    const self = await runRecipe({
      registry,
      recipe: "coco-selftrain",
      out: `${out}/self`,
      backend: "wasm",
      overrides: {
        ...TINY_SELFTRAIN,
        "model.backbone": "strided-pyramid",
        "model.backboneConfig.width": "12",
      },
    });
    for (const phase of ["teacher", "student"]) {
      assert.deepEqual(
        await lateral3Shape(`${out}/self/${phase}/checkpoints`),
        [1, 1, 64, 12],
        phase,
      );
    }
    assert.ok(self.report.delta);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("every backbone is handed the model's shared settings as one argument", () => {
  const registry = tinyRegistry();
  const seen: SharedSettings[] = [];
  registry.register("backbone", {
    name: "records-shared",
    description: "a backbone with no keys that records its context",
    defaults: {},
    create: (_c, ctx) => {
      seen.push({ ...ctx.shared });
      return new StridedPyramid(8, 16, ctx);
    },
  });
  const config = resolveConfig(registry, "coco-supervised", {
    "model.backbone": "records-shared",
  });
  assert.deepEqual((config.model as ConfigObject).backboneConfig, {});
  const model = buildDetector(
    registry,
    {
      ...CPU_DETECTOR,
      backbone: "records-shared",
      bnMomentum: 0.8,
      bnEpsilon: 1e-4,
      activation: "swish",
    },
    3,
    64,
    0,
  );
  model.dispose();
  assert.deepEqual(seen, [{
    bnMomentum: 0.8,
    bnEpsilon: 1e-4,
    activation: "swish",
  }]);
  // Built alone, a backbone gets Model Garden's defaults.
  registry.create("backbone", "records-shared").dispose();
  assert.deepEqual(seen[1], DEFAULT_SHARED);
});
