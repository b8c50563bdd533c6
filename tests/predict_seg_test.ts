// `deno task predict` on a segmentation run, as a subprocess: a hand-made
// `pascal-supervised` run whose masks mix background and one class, images
// of three sizes and two formats. The PNG masks must decode to the model's
// own predictions (computed here, in process) at each image's size, and
// each overlay must differ from its image exactly where the mask is not
// background.
import assert from "node:assert/strict";
import { evaluateMaskFolders } from "../cli/eval_voc.ts";
import { imagesToTensor } from "../core/data/loader.ts";
import { exists } from "../core/fs.ts";
import { readImage, writeImage } from "../image/codec.ts";
import { decodeMaskPng, encodeMaskPng } from "../image/mask_png.ts";
import { folderEntries, SegmentationDataset } from "../plugins/voc/mod.ts";
import {
  assertOneLineError,
  INPUT,
  mixedSegmenter,
  runPredict,
  SEG_CLASSES,
  texture,
  withTempDir,
  writeSegRun,
} from "./predict_helpers.ts";

const IMAGES: Record<string, [w: number, h: number]> = {
  "a.png": [96, 64],
  "b.png": [40, 40],
  "c.jpg": [50, 80],
};

/**
 * A run, a folder of the images, and the model's masks for them keyed by
 * file name, predicted in process on the loader's letterboxed samples.
 */
async function fixture(dir: string): Promise<Map<string, Uint8Array>> {
  const model = mixedSegmenter();
  try {
    await writeSegRun(`${dir}/run`, model);
    await Deno.mkdir(`${dir}/images`);
    for (const [name, [w, h]] of Object.entries(IMAGES)) {
      await writeImage(`${dir}/images/${name}`, texture(w, h));
    }
    const data = await SegmentationDataset.open(
      await folderEntries(`${dir}/images`),
      { inputSize: INPUT, onError: "fail", classNames: SEG_CLASSES },
    );
    const masks = new Map<string, Uint8Array>();
    for (let i = 0; i < data.size; i++) {
      const s = await data.get(i);
      const x = imagesToTensor([s.image]);
      const [p] = await model.predict(x, [s]);
      x.dispose();
      masks.set(s.meta!.file!.split("/").pop()!, p.mask!);
    }
    return masks;
  } finally {
    model.dispose();
  }
}

Deno.test("predict (segmentation): palette PNG masks of the model's classes, overlays exactly on the foreground", () =>
  withTempDir(async (dir) => {
    const expected = await fixture(dir);
    const a = expected.get("a.png")!;
    // The fixture is only useful if masks mix background and class 1.
    assert.ok(a.includes(0) && a.includes(1), "fixture: mixed mask");
    const r = await runPredict(
      `${dir}/run`,
      `${dir}/images`,
      `${dir}/out`,
      "--masks",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /train\/checkpoints\/step-00000005/);
    assert.match(r.stderr, /3 images, masks with [\d.]+% non-background/);
    assert.equal(await exists(`${dir}/out/detections.json`), false);
    for (const [name, [w, h]] of Object.entries(IMAGES)) {
      const stem = name.replace(/\.\w+$/, "");
      const m = decodeMaskPng(
        await Deno.readFile(`${dir}/out/masks/${stem}.png`),
      );
      assert.deepEqual([m.width, m.height], [w, h], name);
      const want = expected.get(name)!;
      assert.equal(m.data.length, want.length);
      assert.ok(m.data.every((v, i) => v === want[i]), `${name}: mask differs`);
      const overlay = await readImage(`${dir}/out/${name}`);
      assert.deepEqual([overlay.width, overlay.height], [w, h], name);
      if (name.endsWith(".jpg")) continue; // lossy: sizes only
      const source = await readImage(`${dir}/images/${name}`);
      let wrong = 0;
      for (let p = 0; p < w * h; p++) {
        const changed = [0, 1, 2].some((c) =>
          overlay.data[p * 3 + c] !== source.data[p * 3 + c]
        );
        if (changed !== (m.data[p] !== 0)) wrong++;
      }
      assert.equal(wrong, 0, `${name}: overlay differs off the mask`);
    }
    // The masks are what `deno task eval voc --pred` reads.
    await Deno.mkdir(`${dir}/gt`);
    for (const [name, [w, h]] of Object.entries(IMAGES)) {
      await Deno.writeFile(
        `${dir}/gt/${name.replace(/\.\w+$/, "")}.png`,
        encodeMaskPng({ data: expected.get(name)!, width: w, height: h }),
      );
    }
    const cm = await evaluateMaskFolders(`${dir}/gt`, `${dir}/out/masks`, 3);
    assert.equal(cm.metrics().pixelAccuracy, 1);
  }));

Deno.test("predict (segmentation): no --masks, no mask folder; bad image is a one-line error", () =>
  withTempDir(async (dir) => {
    await fixture(dir);
    const r = await runPredict(
      `${dir}/run/train`,
      `${dir}/images`,
      `${dir}/out`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await exists(`${dir}/out/masks`), false);
    assert.equal(await exists(`${dir}/out/a.png`), true);
    await Deno.writeTextFile(`${dir}/images/broken.jpg`, "not an image");
    const bad = await runPredict(`${dir}/run`, `${dir}/images`, `${dir}/out2`);
    assertOneLineError(bad, /images\/broken\.jpg: unreadable image/);
  }));
