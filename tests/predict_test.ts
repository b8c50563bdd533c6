// `deno task predict` as a subprocess: a hand-made run with one checkpoint,
// a folder of two images of different sizes and formats, and the one-line
// errors of bad input.
import assert from "node:assert/strict";
import { readJson } from "../core/fs.ts";
import { readImage, writeImage } from "../image/codec.ts";
import type { PredictRecord } from "../cli/predict.ts";
import {
  readRunModelSpec,
  resolveCheckpoint,
} from "../recipes/trained_model.ts";
import type { DetectorSection } from "../recipes/detection.ts";
import {
  assertOneLineError,
  CLASSES,
  rgbImage,
  runPredict,
  withTempDir,
  writeConfidentRun,
} from "./predict_helpers.ts";

/** A run, an image folder with a 96x64 PNG and a 50x80 JPEG, an empty folder. */
async function fixture(dir: string): Promise<void> {
  await writeConfidentRun(`${dir}/run`);
  await Deno.mkdir(`${dir}/images`);
  await Deno.mkdir(`${dir}/empty`);
  const img = (w: number, h: number) =>
    rgbImage(w, h, (x, y, c) => (((y * w + x) * 3 + c) * 37) % 251);
  await writeImage(`${dir}/images/a.png`, img(96, 64));
  await writeImage(`${dir}/images/b.jpg`, img(50, 80));
}

Deno.test("predict: run folder -> drawn images at source size and detections.json", () =>
  withTempDir(async (dir) => {
    await fixture(dir);
    const r = await runPredict(`${dir}/run`, `${dir}/images`, `${dir}/out`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /train\/checkpoints\/step-00000003/);
    const a = await readImage(`${dir}/out/a.png`);
    const b = await readImage(`${dir}/out/b.jpg`);
    assert.deepEqual([a.width, a.height, b.width, b.height], [96, 64, 50, 80]);
    const recs = await readJson<PredictRecord[]>(`${dir}/out/detections.json`);
    // Only the checkpoint's raised class bias makes any score pass 0.3: a
    // model without its weights loaded would find nothing.
    assert.ok(recs.length > 0);
    const sizes: Record<string, [number, number]> = {
      "a.png": [96, 64],
      "b.jpg": [50, 80],
    };
    for (const d of recs) {
      const [w, h] = sizes[d.file_name];
      assert.ok(w, `unexpected file ${d.file_name}`);
      assert.equal(d.category, CLASSES[d.label]);
      assert.ok(d.score >= 0.3 && d.score <= 1);
      const [x, y, bw, bh] = d.bbox;
      assert.ok(x >= 0 && y >= 0 && bw >= 0 && bh >= 0);
      assert.ok(x + bw <= w + 0.01 && y + bh <= h + 0.01, JSON.stringify(d));
    }
  }));

Deno.test("predict: bad input gives one-line errors and exit code 1", () =>
  withTempDir(async (dir) => {
    await fixture(dir);
    const step = `${dir}/run/train/checkpoints/step-00000003`;
    const lone = `${dir}/lone/step-00000003`;
    await Deno.mkdir(lone, { recursive: true });
    for await (const e of Deno.readDir(step)) {
      await Deno.copyFile(`${step}/${e.name}`, `${lone}/${e.name}`);
    }
    await Deno.mkdir(`${dir}/bad`);
    await Deno.writeTextFile(`${dir}/bad/broken.jpg`, "not an image");
    const cases: [string, string, RegExp][] = [
      [`${dir}/nope`, `${dir}/images`, /nope: checkpoint path does not exist/],
      [lone, `${dir}/images`, /lone\/step-00000003: no config\.json found/],
      [`${dir}/run`, `${dir}/empty`, /empty: no JPEG or PNG images/],
      [`${dir}/run`, `${dir}/bad`, /bad\/broken\.jpg: unreadable image/],
    ];
    for (const [checkpoint, images, expected] of cases) {
      const r = await runPredict(checkpoint, images, `${dir}/out`);
      assertOneLineError(r, expected);
    }
  }));

Deno.test("resolveCheckpoint: run, phase, checkpoints/ and step folders", () =>
  withTempDir(async (dir) => {
    await writeConfidentRun(dir);
    const step = `${dir}/train/checkpoints/step-00000003`;
    for (const p of [dir, `${dir}/train`, `${dir}/train/checkpoints`, step]) {
      assert.equal(await resolveCheckpoint(p), step);
    }
    // A student phase, when present, wins over train.
    await Deno.mkdir(`${dir}/student/checkpoints/step-00000001`, {
      recursive: true,
    });
    await Deno.copyFile(
      `${step}/model.json`,
      `${dir}/student/checkpoints/step-00000001/model.json`,
    );
    assert.equal(
      await resolveCheckpoint(dir),
      `${dir}/student/checkpoints/step-00000001`,
    );
  }));

Deno.test("readRunModelSpec: a run made before model.head.* gets its flat head keys back", async () => {
  const run = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${run}/config.json`,
      JSON.stringify({
        recipe: "coco-supervised",
        config: {
          data: { inputSize: 64 },
          model: {
            backbone: "convnet-fpn",
            headConvs: 1,
            headFilters: 16,
            bnMomentum: 0.9,
            softNms: true,
            anchorSize: 3,
            scoreThreshold: 0.2,
          },
        },
      }),
    );
    await Deno.writeTextFile(`${run}/classes.json`, JSON.stringify(CLASSES));
    const spec = await readRunModelSpec(run);
    assert.equal(spec.task, "detection");
    const m = spec.model as DetectorSection;
    assert.deepEqual(
      [m.head.convs, m.head.filters, m.head.softNms, m.head.anchorSize],
      [1, 16, true, 3],
    );
    assert.equal(m.head.scoreThreshold, 0.2);
    assert.ok(!("headConvs" in m), "the flat key is gone");
    assert.deepEqual(m.backboneConfig, {});
    assert.equal(m.activation, "auto");
  } finally {
    await Deno.remove(run, { recursive: true });
  }
});
