/**
 * `pseudo.tta` of `pascal-selftrain`: the teacher's probabilities averaged
 * over mirrored and rescaled views, end to end through `labelSegPool` (a
 * real folder of images, letterboxed by the VOC loader, masks written as
 * PNGs). The teachers are hand-made so the averages can be worked out:
 *
 * - a teacher that is not flip-equivariant (class 1 at 0.9 on the left
 *   quarter of whatever it sees, 0.2 elsewhere): with flip TTA the right
 *   quarter also gets (0.9 + 0.2) / 2 = 0.55 for class 1, so its pixels
 *   change from class 0 to class 1;
 * - a teacher that depends on the input scale (class 1 at 0.9 when the
 *   view is larger than the model input, 0.3 otherwise): scales 1, 1.25,
 *   1.5 average to (2·0.3 + 4·0.9) / 6 = 0.7, so every pixel becomes class
 *   1, where the plain teacher says class 0.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { EventBus } from "../core/events.ts";
import type { Sample } from "../core/types.ts";
import { writeImage } from "../image/codec.ts";
import { decodeMaskPng } from "../image/mask_png.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";
import { probsToPredictions } from "../plugins/deeplab/predict.ts";
import { folderEntries, SegmentationDataset } from "../plugins/voc/dataset.ts";
import {
  labelSegPool,
  type SegPseudoSection,
  type SegTeacher,
  ttaPrediction,
} from "../recipes/seg_labeling.ts";

await tf.setBackend("cpu");

const INPUT = 64;

/** A teacher whose class-1 probability is `p1(x, width)` at column x of a view `width` wide. */
function teacher(p1: (x: number, width: number) => number): SegTeacher {
  return {
    predict(images: tf.Tensor4D, samples: readonly Sample[]) {
      const [n, h, w] = images.shape;
      const logits = new Float32Array(n * h * w * 2);
      for (let i = 0; i < n * h * w; i++) {
        const p = p1(i % w, w);
        logits[2 * i] = Math.log(1 - p);
        logits[2 * i + 1] = Math.log(p);
      }
      const t = tf.tensor4d(logits, [n, h, w, 2]);
      return probsToPredictions(t, samples).finally(() => t.dispose());
    },
  };
}

/** Class 1 at 0.9 on the left quarter of the view, 0.2 elsewhere. */
const leftQuarter = teacher((x, w) => (x < w / 4 ? 0.9 : 0.2));
/** Class 1 at 0.9 when the view is wider than the model input, else 0.3. */
const likesLarge = teacher((_x, w) => (w > INPUT ? 0.9 : 0.3));

const PSEUDO: SegPseudoSection = {
  labeler: "hard-seg",
  threshold: 0.5,
  tta: false,
  scales: [1],
  batchSize: 2,
};

/** A pool folder with one image `w` × `h`, opened as the loader does. */
async function pool(dir: string, w: number, h: number) {
  await Deno.mkdir(`${dir}/pool`, { recursive: true });
  await writeImage(`${dir}/pool/img.png`, {
    data: new Uint8Array(w * h * 3).map((_, i) => (i * 29) % 256),
    width: w,
    height: h,
    channels: 3,
  });
  return await SegmentationDataset.open(await folderEntries(`${dir}/pool`), {
    inputSize: INPUT,
    onError: "fail",
    classNames: ["background", "shape"],
  });
}

/** Labels the pool into `<dir>/<name>` and returns the one mask written. */
async function label(
  dir: string,
  name: string,
  data: SegmentationDataset,
  t: SegTeacher,
  pseudo: { tta?: boolean; scales?: number[] },
) {
  const ctx = {
    registry: createBuiltinRegistry(),
    out: `${dir}/${name}`,
    events: new EventBus(),
  };
  await labelSegPool(ctx, t, data, { ...PSEUDO, ...pseudo });
  const path = `${dir}/${name}/labels/masks/img.png`;
  return decodeMaskPng(await Deno.readFile(path), path);
}

/** Class per column of row `y` (the masks here are constant down columns). */
const row = (
  m: { data: Uint8Array; width: number },
  y = 0,
) => [...m.data.subarray(y * m.width, (y + 1) * m.width)];

Deno.test("pseudo.tta: flip averaging relabels what a non-equivariant teacher sees only one way", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = await pool(dir, INPUT, INPUT);
    const q = INPUT / 4;
    const plain = await label(dir, "plain", data, leftQuarter, {});
    const flip = await label(dir, "flip", data, leftQuarter, {
      tta: true,
      scales: [1],
    });
    const expectPlain = Array.from({ length: INPUT }, (_, x) => +(x < q));
    const expectFlip = Array.from(
      { length: INPUT },
      (_, x) => +(x < q || x >= INPUT - q),
    );
    for (const y of [0, 31, 63]) {
      assert.deepEqual(row(plain, y), expectPlain);
      assert.deepEqual(row(flip, y), expectFlip);
    }
    // The averaged probabilities themselves: 0.55 on both outer quarters.
    const p = await ttaPrediction(leftQuarter, await data.get(0), [1]);
    assert.equal(p.width, INPUT);
    const at = (x: number) => p.probs[2 * (5 * INPUT + x) + 1];
    for (const [x, want] of [[0, 0.55], [q, 0.2], [32, 0.2], [63, 0.55]]) {
      assert.ok(Math.abs(at(x) - want) < 1e-5, `x ${x}: ${at(x)} vs ${want}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pseudo.tta: scales are averaged, and the map comes back at source size", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // 48x32 source: letterboxed to 64x43 content; masks must be 48x32.
    const data = await pool(dir, 48, 32);
    const plain = await label(dir, "plain", data, likesLarge, {});
    const multi = await label(dir, "multi", data, likesLarge, {
      tta: true,
      scales: [1, 1.25, 1.5],
    });
    for (const m of [plain, multi]) {
      assert.deepEqual([m.width, m.height], [48, 32]);
    }
    assert.ok(plain.data.every((v) => v === 0));
    assert.ok(multi.data.every((v) => v === 1));
    const p = await ttaPrediction(likesLarge, await data.get(0), [
      1,
      1.25,
      1.5,
    ]);
    assert.equal(p.probs.length, 48 * 32 * 2);
    for (let i = 1; i < p.probs.length; i += 2) {
      assert.ok(Math.abs(p.probs[i] - 0.7) < 1e-5, `${i}: ${p.probs[i]}`);
    }
    // One scale, no flip asymmetry: exactly the plain teacher.
    const one = await ttaPrediction(likesLarge, await data.get(0), [1]);
    assert.ok(
      one.probs.every((v, i) => Math.abs(v - (i % 2 ? 0.3 : 0.7)) < 1e-5),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pseudo.tta: bad scales are a one-line error naming the key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = await pool(dir, INPUT, INPUT);
    await assert.rejects(
      label(dir, "bad", data, likesLarge, { tta: true, scales: [1, 0] }),
      /pseudo\.scales must be positive numbers/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
