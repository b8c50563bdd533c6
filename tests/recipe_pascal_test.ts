/**
 * The compute-matched baseline rule both self-training recipes share
 * (`trainedAsTeacher`): the teacher is the baseline exactly when a
 * randomly initialised student is trained as the teacher was, with
 * all-human baseline batches of the teacher's size. Then `pascal-selftrain`
 * trains no baseline phase and reports the teacher as the baseline.
 */
import assert from "node:assert/strict";
import { exists } from "../core/fs.ts";
import { resolveConfig } from "../core/runner.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";
import { runTiny, withTinySegSet } from "./recipe_helpers.ts";
import {
  type CocoSelfTrainConfig,
  teacherIsBaseline as cocoRule,
} from "../recipes/coco_selftrain.ts";
import { trainedAsTeacher } from "../recipes/mixed_training.ts";
import {
  type PascalSelfTrainConfig,
  teacherIsBaseline as pascalRule,
} from "../recipes/pascal_selftrain.ts";
import { CPU_SEG_TRAIN } from "../recipes/pascal_supervised.ts";
import type { SelfTrainPhases } from "../recipes/report.ts";

const teacher = { ...CPU_SEG_TRAIN, augment: "S1" };
const student = {
  ...CPU_SEG_TRAIN,
  batchSize: 2 * CPU_SEG_TRAIN.batchSize,
  init: "random",
  mixRatio: "1:1",
};

Deno.test("trainedAsTeacher: every training key, the init, the augmentation and the human batch", () => {
  assert.equal(trainedAsTeacher(teacher, student, "S1", "human"), true);
  assert.equal(
    trainedAsTeacher(teacher, { ...student, init: "teacher" }, "S1", "human"),
    false,
  );
  assert.equal(trainedAsTeacher(teacher, student, "S3", "human"), false);
  assert.equal(
    trainedAsTeacher(
      teacher,
      { ...student, lr: student.lr / 2 },
      "S1",
      "human",
    ),
    false,
  );
  assert.equal(
    trainedAsTeacher(teacher, { ...student, steps: 1 }, "S1", "human"),
    false,
  );
  // `full`: 16 human images per step, the teacher had 8.
  assert.equal(trainedAsTeacher(teacher, student, "S1", "full"), false);
  // 3:1 of 16 is 12 human images per step.
  assert.equal(
    trainedAsTeacher(teacher, { ...student, mixRatio: "3:1" }, "S1", "human"),
    false,
  );
});

Deno.test("teacherIsBaseline: each recipe's defaults, and its own extra conditions", () => {
  const registry = createBuiltinRegistry();
  const defaults = (recipe: string) => resolveConfig(registry, recipe, {});
  const coco = defaults("coco-selftrain") as CocoSelfTrainConfig;
  assert.equal(cocoRule(coco), true); // the README's protocol
  assert.equal(
    cocoRule({ ...coco, student: { ...coco.student, positivesMomentum: 0.9 } }),
    false,
  );
  const pascal = defaults("pascal-selftrain") as PascalSelfTrainConfig;
  assert.equal(pascalRule(pascal), true); // the README's protocol
  assert.equal(
    pascalRule({ ...pascal, student: { ...pascal.student, augment: "S2" } }),
    false,
  );
  assert.equal(pascalRule({ ...pascal, baselineBatch: "full" }), false);
});

Deno.test("pascal-selftrain: a student trained as the teacher has the teacher as its baseline", () =>
  withTinySegSet(
    { train: 4, tune: 2, val: 2, unlabeled: 4 },
    async (root, out) => {
      const same: Record<string, string> = {};
      for (
        const [k, v] of Object.entries({
          steps: "2",
          lr: "0.05",
          warmupSteps: "0",
          checkpointEvery: "0",
        })
      ) same[`teacher.${k}`] = same[`student.${k}`] = v;
      const { report } = await runTiny("pascal-selftrain", out, {
        "data.root": root,
        "data.unlabeledImages": `${root}/JPEGImages`,
        "data.tuneSplit": "tune",
        "data.inputSize": "32",
        "model.filters": "8",
        "model.lowLevelFilters": "8",
        ...same,
        "teacher.batchSize": "2",
        "student.batchSize": "4",
        "student.init": "random",
        "pseudo.batchSize": "4",
      });
      const r = report as unknown as SelfTrainPhases & {
        delta: Record<string, Record<string, number>>;
      };
      // Detection's layout: summaries of val and tune first, then per class.
      const keys = Object.keys(r.teacher.metrics);
      assert.deepEqual(keys.slice(0, 4), [
        "mIoU",
        "pixelAccuracy",
        "tune/mIoU",
        "tune/pixelAccuracy",
      ]);
      assert.ok(keys.includes("IoU/background"), keys.join());
      assert.ok(keys.includes("tune/IoU/background"), keys.join());
      const perClass = keys.filter((k) => k.startsWith("IoU/"))
        .map((k) => r.teacher.metrics[k]);
      assert.ok(
        Math.abs(
          perClass.reduce((a, b) => a + b, 0) / perClass.length -
            r.teacher.metrics.mIoU,
        ) < 1e-12,
        "mIoU is the mean of the defined per-class IoUs",
      );
      assert.equal(r.baseline.reusedTeacher, true);
      assert.deepEqual(r.baseline.metrics, r.teacher.metrics);
      assert.deepEqual(r.delta.baseline, r.delta.teacher);
      assert.equal(r.baseline.humanPerStep, 2);
      assert.deepEqual([r.student.humanPerStep, r.student.pseudoPerStep], [
        2,
        2,
      ]);
      assert.equal(await exists(`${out}/baseline`), false);
      assert.equal(await exists(`${out}/student/metrics.json`), true);
      assert.match(
        await Deno.readTextFile(`${out}/report.md`),
        /the teacher itself/,
      );
    },
  ));
