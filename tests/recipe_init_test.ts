/**
 * `model.init` / `model.freezeAt` through the recipes: teacher, student and
 * baseline start from the checkpoint (their frozen stem is its weights, bit
 * for bit), the checkpoint's architecture keys build the backbone, the run
 * records its init for reports and for `deno task predict`, and a
 * checkpoint that does not fit stops the run before anything trains.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { latestCheckpoint, loadCheckpoint } from "../core/train/checkpoint.ts";
import {
  type CocoSelfTrainConfig,
  cocoSelfTrainRecipe,
  teacherIsBaseline,
} from "../recipes/coco_selftrain.ts";
import {
  loadTrainedModel,
  readRunModelSpec,
} from "../recipes/trained_model.ts";
import {
  readJsonFile,
  runTiny,
  tempOut,
  TINY_SELFTRAIN,
  tinyRegistry,
  tinyTrain,
} from "./recipe_helpers.ts";
import "./foundation_helpers.ts"; // activates the wasm backend
import { tinyConvnetCheckpoint } from "./init_helpers.ts";

async function finalWeights(dir: string): Promise<Map<string, tf.Tensor>> {
  const path = await latestCheckpoint(`${dir}/checkpoints`);
  assert.ok(path, `no checkpoint in ${dir}`);
  return (await loadCheckpoint(path)).weights as Map<string, tf.Tensor>;
}

Deno.test("coco-selftrain from a backbone checkpoint: teacher, student and baseline start from it; frozen stem stays it; report and predict know it", async () => {
  const out = await tempOut("init");
  const ck = `${out}/../${out.split("/").pop()}-ck`;
  try {
    const source = await tinyConvnetCheckpoint(ck);
    const { report } = await runTiny("coco-selftrain", out, {
      ...TINY_SELFTRAIN,
      ...tinyTrain("teacher", 2),
      ...tinyTrain("student", 2),
      "model.init": ck,
      "model.freezeAt": "0",
    });
    for (const phase of ["teacher", "student", "baseline"]) {
      const w = await finalWeights(`${out}/${phase}`);
      let frozen = 0, moved = 0;
      for (const [n, v] of source) {
        const got = w.get(`backbone.body.${n}`);
        assert.ok(got, `${phase}: backbone.body.${n} missing`);
        const same = (got.dataSync() as Float32Array).every((x, i) =>
          x === v[i]
        );
        if (n.startsWith("stage1_")) {
          assert.ok(same, `${phase}: frozen ${n} moved`);
          frozen++;
        } else if (!same) moved++;
      }
      assert.equal(frozen, 10);
      assert.ok(moved > 0, `${phase}: nothing after the stem trained`);
      tf.dispose([...w.values()]);
    }
    const r = report as {
      init: {
        path: string;
        architecture: string;
        provenance: { source: string };
        overrides: Record<string, unknown>;
        freezeAt: number;
      };
      baseline: { init: string };
    };
    assert.equal(r.init.architecture, "tiny-convnet");
    assert.equal(r.init.provenance.source, "test-fixture");
    assert.deepEqual(r.init.overrides, { width: 8, activation: "relu" });
    assert.equal(r.init.freezeAt, 0);
    assert.equal(r.baseline.init, "pre-trained");
    assert.deepEqual(await readJsonFile(`${out}/init.json`), r.init);
    const md = await Deno.readTextFile(`${out}/report.md`);
    assert.match(
      md,
      /initialisation \(teacher, student, baseline\): \/.*-ck \(tiny-convnet; source test-fixture, created 2024-01-01, seed 42\); stem \+ 0 stages frozen/,
    );
    // predict rebuilds the width-8 body from init.json (width 16 would not load).
    const spec = await readRunModelSpec(out);
    const step = await latestCheckpoint(`${out}/student/checkpoints`);
    const model = await loadTrainedModel(tinyRegistry(), spec, step!);
    assert.equal(
      model.namedVariables().find(([n]) =>
        n === "backbone.body.stage1_down.conv.kernel"
      )![1].shape[3],
      8,
    );
    model.dispose();
  } finally {
    await Deno.remove(out, { recursive: true });
    await Deno.remove(ck, { recursive: true }).catch(() => {});
  }
});

Deno.test("pascal-supervised from a tiny-convnet checkpoint with freezeAt=1; a misfit checkpoint stops coco-supervised before training", async () => {
  const out = await tempOut("init_seg");
  const ck = `${out}-ck`;
  try {
    const source = await tinyConvnetCheckpoint(ck);
    const { report } = await runTiny("pascal-supervised", out, {
      "data.inputSize": "32",
      "model.filters": "8",
      "model.lowLevelFilters": "8",
      ...tinyTrain("train", 2),
      "model.init": ck,
      "model.freezeAt": "1",
    });
    assert.equal((report as { init: { path: string } }).init.path, ck);
    const w = await finalWeights(`${out}/train`);
    for (const [n, v] of source) {
      const same = (w.get(`backbone.${n}`)!.dataSync() as Float32Array)
        .every((x, i) => x === v[i]);
      assert.equal(same, /^stage[12]_/.test(n), n);
    }
    tf.dispose([...w.values()]);

    const bad = `${out}/bad`;
    await assert.rejects(
      () =>
        runTiny("coco-supervised", bad, {
          "model.init": ck,
          "model.backbone": "spinenet-tiny",
          ...tinyTrain("train", 2),
        }),
      (e: Error) =>
        e.message ===
          `${ck}: checkpoint is a "tiny-convnet" backbone; model.backbone "spinenet-tiny" takes spinenet-tiny`,
    );
    const steps = await latestCheckpoint(`${bad}/train/checkpoints`);
    assert.equal(steps, null);
  } finally {
    await Deno.remove(out, { recursive: true });
    await Deno.remove(ck, { recursive: true }).catch(() => {});
  }
});

Deno.test("teacherIsBaseline: the teacher is the baseline only when the student starts from the teacher's init", () => {
  const c = structuredClone(
    cocoSelfTrainRecipe.defaults,
  ) as CocoSelfTrainConfig;
  assert.equal(teacherIsBaseline(c), true);
  c.model.init = "/some/backbone";
  // Teacher and a student.init=random student both start from model.init.
  assert.equal(teacherIsBaseline(c), true);
  c.student.init = "teacher";
  assert.equal(teacherIsBaseline(c), false);
});
