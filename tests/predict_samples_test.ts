// Sample prediction images: undoing the letterbox, drawing detections, and
// writeSampleImages end to end on a real (tiny) detector.
import assert from "node:assert/strict";
import "../core/gradients.ts";
import { readImage, writeImage } from "../image/codec.ts";
import { colorFor } from "../image/draw.ts";
import { letterbox } from "../image/resize.ts";
import type { Dataset, RawImage, Sample } from "../core/types.ts";
import {
  drawDetections,
  sampleFileStem,
  sourceImage,
  writeSampleImages,
} from "../recipes/samples.ts";
import {
  CLASSES,
  confidentDetector,
  gradient,
  INPUT,
  withTempDir,
} from "./predict_helpers.ts";

function letterboxed(
  id: number | string,
  src: RawImage,
  file?: string,
): Sample {
  const { image, scale } = letterbox(src, INPUT, INPUT);
  return {
    id,
    image,
    meta: { sourceWidth: src.width, sourceHeight: src.height, scale, file },
  };
}

function meanAbsDiff(a: RawImage, b: RawImage): number {
  assert.equal(a.data.length, b.data.length);
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i] - b.data[i]);
  return s / a.data.length;
}

function pixel(img: RawImage, x: number, y: number): number[] {
  const o = (y * img.width + x) * img.channels;
  return [...img.data.subarray(o, o + 3)];
}

Deno.test("sourceImage: undoes the letterbox back to the source size", async () => {
  const src = gradient(160, 100);
  const back = await sourceImage(letterboxed(1, src));
  assert.equal(back.width, 160);
  assert.equal(back.height, 100);
  // 160x100 -> 64x40 -> 160x100 loses detail but not the gradient.
  assert.ok(meanAbsDiff(back, src) < 4, `diff ${meanAbsDiff(back, src)}`);
});

Deno.test("sourceImage: reads meta.file when the sample names one", () =>
  withTempDir(async (dir) => {
    const src = gradient(90, 30);
    await writeImage(`${dir}/a.png`, src);
    const back = await sourceImage(letterboxed(1, src, `${dir}/a.png`));
    assert.deepEqual(back, src);
  }));

Deno.test("drawDetections: class colour on the outline, caption, score threshold", () => {
  const img: RawImage = {
    data: new Uint8Array(64 * 64 * 3),
    width: 64,
    height: 64,
    channels: 3,
  };
  const drawn = drawDetections(
    img,
    [
      { box: [10, 20, 40, 50], label: 1, score: 0.9 },
      { box: [50, 2, 60, 12], label: 2, score: 0.1 },
    ],
    CLASSES,
    0.3,
  );
  assert.equal(drawn, 1);
  assert.deepEqual(pixel(img, 10, 35), [...colorFor(1)]); // left edge
  assert.deepEqual(pixel(img, 25, 35), [0, 0, 0]); // inside stays clear
  assert.deepEqual(pixel(img, 55, 7), [0, 0, 0]); // below threshold: not drawn
  // The caption tab sits above the box, in the class colour.
  assert.deepEqual(pixel(img, 10, 19), [...colorFor(1)]);
});

Deno.test("writeSampleImages: source-size files named <prefix>_<id>, boxes drawn", async () => {
  const dir = await Deno.makeTempDir();
  const model = confidentDetector();
  try {
    const a = gradient(96, 64);
    const b = gradient(50, 80);
    await writeImage(`${dir}/b.png`, b);
    const samples = [
      letterboxed(7, a),
      letterboxed("b.png", b, `${dir}/b.png`),
    ];
    const data: Dataset = {
      size: samples.length,
      classNames: CLASSES,
      get: (i) => Promise.resolve(samples[i]),
    };
    const out = `${dir}/samples`;
    const clean = await writeSampleImages(model, data, CLASSES, out, 8, {
      prefix: "clean",
      minScore: 1.01,
      format: "png",
    });
    assert.deepEqual(clean, [`${out}/clean_7.png`, `${out}/clean_b.png`]);
    // Nothing above the threshold: the files are the source images.
    assert.ok(meanAbsDiff(await readImage(clean[0]), a) < 4);
    assert.deepEqual(await readImage(clean[1]), b);

    const drawn = await writeSampleImages(model, data, CLASSES, out, 1, {
      prefix: "train",
      format: "png",
    });
    assert.deepEqual(drawn, [`${out}/train_7.png`]);
    const img = await readImage(drawn[0]);
    assert.equal(img.width, 96);
    assert.equal(img.height, 64);
    const colours = new Set(CLASSES.map((_, i) => colorFor(i).join(",")));
    let boxPixels = 0;
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        if (colours.has(pixel(img, x, y).join(","))) boxPixels++;
      }
    }
    assert.ok(boxPixels > 20, `only ${boxPixels} class-coloured pixels`);
  } finally {
    model.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sampleFileStem: drops the image extension and odd characters", () => {
  assert.equal(sampleFileStem(12), "12");
  assert.equal(sampleFileStem("a b/c.JPG"), "a_b_c");
});
