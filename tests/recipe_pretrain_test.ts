/**
 * The pre-training recipes end to end on a tiny classification folder:
 * `pretrain-supervised` and `pretrain-simclr` write a backbone checkpoint
 * holding exactly the trained weights (plus the head, or not), with the
 * manifest the init code reads, skip when done, and the result initialises
 * the detection recipe's `convnet-fpn` through `--model.init`. Also the
 * pieces they share: top-k counting, backbone config overrides, the linear
 * probe.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { EventBus } from "../core/events.ts";
import { encodePng } from "../image/codec.ts";
import { seedFor } from "../core/rng.ts";
import { resolveConfig, runRecipe } from "../core/runner.ts";
import type { ConfigObject } from "../core/config.ts";
import { latestCheckpoint, loadCheckpoint } from "../core/train/checkpoint.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";
import { renderShape, SHAPE_CLASSES } from "../plugins/classifier/shapes.ts";
import { readBackboneCheckpoint } from "../plugins/pretrain/mod.ts";
import { ensureObjectSet } from "../plugins/synthetic/mod.ts";
import { topKHits } from "../recipes/classification_eval.ts";
import { type FeatureSet, linearProbe } from "../recipes/linear_probe.ts";
import {
  backboneConfig,
  PRETRAIN_MODEL_DEFAULTS,
} from "../recipes/pretraining.ts";
import "./foundation_helpers.ts"; // activates the wasm backend
import {
  readJsonFile,
  runTiny,
  tempOut,
  TINY_MODEL,
  tinyTrain,
} from "./recipe_helpers.ts";

/** A tiny 6-class folder (cached by its options like the built-in set). */
function tinyFolder(): Promise<string> {
  return ensureObjectSet({
    imageSize: 32,
    classes: 6,
    trainPerClass: 4,
    tunePerClass: 2,
    valPerClass: 2,
  });
}

/** Overrides of a tiny pre-training run on `root`. */
function tinyPretrain(root: string): Record<string, string> {
  return {
    "data.root": root,
    "data.inputSize": "32",
    "model.backboneConfig.stages": "5",
    "model.backboneConfig.width": "4",
    "train.steps": "4",
    "train.batchSize": "6",
    "train.accumulate": "2",
    "train.warmupSteps": "1",
    "train.checkpointEvery": "2",
  };
}

interface Report {
  metrics: Record<string, number>;
  backbone: string;
}

/** The final training checkpoint's weights of `out`'s train phase. */
async function trainedWeights(out: string): Promise<Map<string, tf.Tensor>> {
  const path = await latestCheckpoint(`${out}/train/checkpoints`);
  assert.match(path!, /step-00000004$/);
  return (await loadCheckpoint(path!)).weights as Map<string, tf.Tensor>;
}

function sameValues(a: tf.Tensor, b: tf.Tensor, name: string): void {
  assert.deepEqual(a.shape, b.shape, name);
  const x = a.dataSync(), y = b.dataSync();
  for (let i = 0; i < x.length; i++) assert.equal(x[i], y[i], name);
}

Deno.test("pretrain-supervised: backbone + head.* are the trained weights, manifest complete, re-run skips, --model.init loads it into convnet-fpn", async () => {
  const root = await tinyFolder();
  const out = await tempOut("pretrain_sup");
  try {
    const run = () => runTiny("pretrain-supervised", out, tinyPretrain(root));
    const { report } = await run() as unknown as { report: Report };
    const m = report.metrics;
    for (const k of ["top1", "top5", "tune/top1", "tune/top5"]) {
      assert.ok(m[k] >= 0 && m[k] <= 1, `${k} ${m[k]}`);
    }
    assert.ok(m.top5 >= m.top1 && m["tune/top5"] >= m["tune/top1"]);
    assert.ok(m.top5 < 1 || m.top1 > 0, "6 classes: top-5 is not trivially 1");

    const ck = await readBackboneCheckpoint(`${out}/backbone`);
    const man = ck.manifest;
    assert.equal(man.architecture, "tiny-convnet");
    // Its own keys and the shared settings it was built with.
    assert.deepEqual(man.config, {
      width: 4,
      stages: 5,
      bnMomentum: 0.9,
      bnEpsilon: 1e-3,
      activation: "auto",
    });
    assert.equal(man.preprocessing.inputSize, 32);
    assert.deepEqual(man.classes, [
      "circle",
      "cross",
      "ring",
      "square",
      "star",
      "triangle",
    ]);
    const p = man.provenance;
    assert.equal(p.source, "pretrain-supervised");
    assert.equal(p.recipe, "pretrain-supervised");
    assert.equal(p.dataset, `image-folder:${root}`);
    assert.equal(p.steps, 4);
    assert.equal(p.batch, 12);
    assert.equal(p.seed, 0);
    assert.deepEqual(p.metrics, m);
    // Every variable of backbone and head, and nothing else, as trained.
    const trained = await trainedWeights(out);
    const expected = [...trained.keys()].map((n) =>
      n.startsWith("backbone.") ? n.slice("backbone.".length) : n
    ).sort();
    assert.deepEqual([...ck.tensors.keys()].sort(), expected);
    assert.ok(ck.tensors.has("head.dense.kernel"));
    for (const [name, t] of ck.tensors) {
      const src = name.startsWith("head.") ? name : `backbone.${name}`;
      sameValues(t, trained.get(src)!, name);
    }

    // Finished: a re-run skips the phase and leaves the checkpoint alone.
    const before = (await Deno.stat(`${out}/backbone/weights.bin`)).mtime;
    const again = await run() as unknown as { report: Report };
    assert.deepEqual(again.report.metrics, m);
    assert.deepEqual(
      (await Deno.stat(`${out}/backbone/weights.bin`)).mtime,
      before,
    );

    // The detection recipe starts its convnet-fpn body from it.
    const det = await tempOut("pretrain_det");
    try {
      await runTiny("coco-supervised", det, {
        ...TINY_MODEL,
        ...tinyTrain("train", 1),
        "model.init": `${out}/backbone`,
      });
      const init = await readJsonFile<
        { architecture: string; overrides: Record<string, unknown> }
      >(`${det}/init.json`);
      assert.equal(init.architecture, "tiny-convnet");
      assert.equal(init.overrides.width, 4);
    } finally {
      await Deno.remove(det, { recursive: true });
    }
    tf.dispose([...ck.tensors.values(), ...trained.values()]);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("pretrain-simclr: backbone only (no projection, no head), the trained weights, probe metrics in the manifest", async () => {
  const root = await tinyFolder();
  const out = await tempOut("pretrain_simclr");
  try {
    const { report } = await runTiny("pretrain-simclr", out, {
      ...tinyPretrain(root),
      "probe.epochs": "3",
      "simclr.projDim": "8",
    }) as unknown as { report: Report };
    const m = report.metrics;
    for (const k of ["top1", "top5", "tune/top1", "tune/top5"]) {
      assert.ok(m[k] >= 0 && m[k] <= 1, `${k} ${m[k]}`);
    }
    const ck = await readBackboneCheckpoint(`${out}/backbone`);
    assert.equal(ck.manifest.classes, undefined);
    assert.equal(ck.manifest.provenance.recipe, "pretrain-simclr");
    assert.deepEqual(ck.manifest.provenance.metrics, m);
    const trained = await trainedWeights(out);
    assert.ok([...trained.keys()].some((n) => n.startsWith("projection.")));
    const backboneNames = [...trained.keys()]
      .filter((n) => n.startsWith("backbone."))
      .map((n) => n.slice("backbone.".length)).sort();
    assert.deepEqual([...ck.tensors.keys()].sort(), backboneNames);
    for (const [name, t] of ck.tensors) {
      sameValues(t, trained.get(`backbone.${name}`)!, name);
    }
    tf.dispose([...ck.tensors.values(), ...trained.values()]);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

/** An easy 4-class folder (the `classify` recipe's shapes), 32 px PNGs. */
async function easyFolder(dir: string): Promise<string> {
  const splits = [["train", 0, 400], ["tune", 400, 80], ["val", 480, 80]];
  for (const [split, from, n] of splits as [string, number, number][]) {
    for (const c of SHAPE_CLASSES) {
      await Deno.mkdir(`${dir}/${split}/${c}`, { recursive: true });
    }
    for (let i = from; i < from + n; i++) {
      const { image, label } = renderShape(0, i, 32);
      await Deno.writeFile(
        `${dir}/${split}/${SHAPE_CLASSES[label]}/${i}.png`,
        encodePng(image),
      );
    }
  }
  return dir;
}

Deno.test("the pre-training recipes learn: supervised >= 75% tune top-1 (chance 25%), SimCLR lowers NT-Xent", async () => {
  const dir = await tempOut("pretrain_learn");
  try {
    const root = await easyFolder(`${dir}/data`);
    const common = {
      "data.root": root,
      "data.inputSize": "32",
      "model.backboneConfig.stages": "3",
      "train.batchSize": "24",
      "train.warmupSteps": "5",
      "train.lr": "0.1",
      "train.checkpointEvery": "0",
    };
    const sup = await runTiny("pretrain-supervised", `${dir}/sup`, {
      ...common,
      "train.steps": "80",
      "aug.scaleMin": "0.5",
    }) as unknown as { report: Report };
    const m = sup.report.metrics;
    assert.ok(m["tune/top1"] >= 0.75, `tune top-1 ${m["tune/top1"]}`);

    const losses: number[] = [];
    const events = new EventBus();
    events.on((e) => e.type === "step" && losses.push(e.loss));
    await runRecipe({
      registry: createBuiltinRegistry(),
      recipe: "pretrain-simclr",
      out: `${dir}/simclr`,
      backend: "wasm",
      events,
      overrides: { ...common, "train.steps": "80", "probe.epochs": "2" },
    });
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const first = mean(losses.slice(0, 10)), last = mean(losses.slice(-10));
    // Chance for 48 views: log(47) = 3.85.
    assert.ok(first > 3.5 && last < first - 0.2, `NT-Xent ${first} -> ${last}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("top-k hits: hand-counted, ties go to the lower class", () => {
  // 3 classes; rows: label 0 best; label 2 second; label 1 tied first with 0.
  const scores = Float32Array.from([
    0.7,
    0.2,
    0.1,
    0.5,
    0.1,
    0.4,
    0.4,
    0.4,
    0.2,
  ]);
  assert.deepEqual(topKHits(scores, 3, [0, 2, 1], [1, 2, 3]), [1, 3, 3]);
  assert.deepEqual(topKHits(scores, 3, [0, 2, 0], [1]), [2]);
});

Deno.test("model.backboneConfig: the backbone's own keys typed by its defaults, the recipe's stages=5 for its default backbone only, one-line errors", () => {
  const r = createBuiltinRegistry();
  const model = (o: Record<string, string>) =>
    resolveConfig(r, "pretrain-supervised", o).model as ConfigObject;
  assert.deepEqual(
    model({ "model.backboneConfig.width": "8" }).backboneConfig,
    { width: 8, stages: 5 },
  );
  assert.deepEqual(
    model({ "model.backbone": "convnet-fpn" }).backboneConfig,
    { width: 16, fpnFilters: 64 },
  );
  assert.throws(
    () => model({ "model.backboneConfig.depth": "3" }),
    /backbone "tiny-convnet" \(--model\.backboneConfig\.\*\): unknown key "depth"; valid keys: width, stages/,
  );
  assert.throws(
    () => model({ "model.backboneConfig.stages": "many" }),
    /--stages expects a number, got "many"/,
  );
  // What the checkpoint records: its own keys and the shared settings.
  const m = { ...PRETRAIN_MODEL_DEFAULTS, backboneConfig: { stages: 4 } };
  assert.deepEqual(backboneConfig(m), {
    stages: 4,
    bnMomentum: 0.9,
    bnEpsilon: 1e-3,
    activation: "auto",
  });
});

/** `n` points per class around class centres in `dim` dimensions. */
function clusters(n: number, classes: number, dim: number, seed: number) {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const x = new Float32Array(n * classes * dim);
  const labels = new Int32Array(n * classes);
  for (let i = 0; i < n * classes; i++) {
    const c = i % classes;
    labels[i] = c;
    for (let d = 0; d < dim; d++) {
      x[i * dim + d] = (d === c ? 3 : 0) + (rand() - 0.5);
    }
  }
  return { x, labels, dim };
}

Deno.test("linear probe: separable features are classified, shuffled labels are not, feature scale does not matter", async () => {
  const train = clusters(40, 4, 6, 1), test = clusters(10, 4, 6, 2);
  const o = { epochs: 20, batchSize: 32, lr: 0.1, weightDecay: 1e-4 };
  const r = await linearProbe(train, { test }, 4, o, 0);
  assert.equal(r.test[0], 1);
  const scaled = (f: FeatureSet): FeatureSet => ({
    ...f,
    x: f.x.map((v) => v * 1000 + 5),
  });
  const r2 = await linearProbe(scaled(train), { test: scaled(test) }, 4, o, 0);
  assert.equal(r2.test[0], 1);
  // Labels unrelated to the features: near chance on held-out points.
  const shuffled = {
    ...train,
    labels: train.labels.map((_, i) => seedFor(9, i) % 4),
  };
  const r3 = await linearProbe(shuffled, { test }, 4, o, 0);
  assert.ok(r3.test[0] < 0.6, `top-1 ${r3.test[0]} on unrelated labels`);
});
