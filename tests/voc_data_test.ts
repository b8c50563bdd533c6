/**
 * The VOC-layout reader on small data the test writes: samples and
 * letterboxed masks, the one-line errors for bad masks (unreadable PNG,
 * wrong size, class out of range), `onError: skip`, unlabelled folders and
 * the built-in synthetic set's disjoint splits; S1 with PASCAL's jitter
 * keeps image and mask aligned.
 */
import assert from "node:assert/strict";
import { encodeJpeg } from "../image/codec.ts";
import { encodeMaskPng } from "../image/mask_png.ts";
import { Rng } from "../core/rng.ts";
import { IGNORE_LABEL } from "../core/types.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";
import { letterboxMask, loadVocSplits } from "../plugins/voc/mod.ts";

async function writeVoc(root: string, ids: Record<string, string[]>) {
  for (
    const d of ["JPEGImages", "SegmentationClass", "ImageSets/Segmentation"]
  ) {
    await Deno.mkdir(`${root}/${d}`, { recursive: true });
  }
  for (const [split, list] of Object.entries(ids)) {
    await Deno.writeTextFile(
      `${root}/ImageSets/Segmentation/${split}.txt`,
      list.join("\n") + "\n",
    );
    for (const id of list) {
      // 8x4 image: left half dark (class 0), right half bright (class 1).
      const w = 8, h = 4;
      const img = new Uint8Array(w * h * 3), mask = new Uint8Array(w * h);
      for (let i = 0; i < w * h; i++) {
        const right = i % w >= w / 2;
        img.fill(right ? 220 : 30, 3 * i, 3 * i + 3);
        mask[i] = right ? 1 : 0;
      }
      mask[0] = IGNORE_LABEL;
      await Deno.writeFile(
        `${root}/JPEGImages/${id}.jpg`,
        encodeJpeg({ data: img, width: w, height: h, channels: 3 }),
      );
      await Deno.writeFile(
        `${root}/SegmentationClass/${id}.png`,
        encodeMaskPng({ data: mask, width: w, height: h }),
      );
    }
  }
}

const CLASSES = ["background", "thing", "other"];

Deno.test("voc reader: splits, ids, letterboxed masks padded with 255", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeVoc(root, { train: ["a", "b"], val: ["c"] });
    const s = await loadVocSplits({
      root,
      trainSplit: "train",
      valSplit: "val",
      tuneSplit: "",
      fraction: 1,
      fractionSeed: 0,
      inputSize: 16,
      onError: "fail",
      unlabeledImages: `${root}/JPEGImages`,
    }, CLASSES);
    assert.equal(s.train.size, 2);
    assert.equal(s.val.size, 1);
    assert.equal(s.unlabeled!.size, 3);
    const x = await s.train.get(1);
    assert.equal(x.id, "b");
    assert.equal(x.image.width, 16);
    assert.deepEqual(x.meta, {
      sourceWidth: 8,
      sourceHeight: 4,
      scale: 2,
      file: `${root}/JPEGImages/b.jpg`,
    });
    // 8x4 → 16x8 content; rows 8..15 are padding.
    assert.equal(x.mask![0], IGNORE_LABEL);
    assert.equal(x.mask![2], 0);
    assert.equal(x.mask![15], 1);
    assert.equal(x.mask![8 * 16 + 3], IGNORE_LABEL);
    assert.equal((await s.unlabeled!.get(0)).mask, undefined);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("letterboxMask: nearest neighbour by hand", () => {
  const m = Uint8Array.of(1, 2, 3, 4); // 2x2
  assert.deepEqual(Array.from(letterboxMask(m, 2, 1 * 2, 4)), [
    1,
    1,
    2,
    2,
    1,
    1,
    2,
    2,
    3,
    3,
    4,
    4,
    3,
    3,
    4,
    4,
  ]);
  assert.deepEqual(Array.from(letterboxMask(Uint8Array.of(5, 6), 2, 1, 2)), [
    5,
    6,
    255,
    255,
  ]);
});

for (
  const [what, bad, pattern] of [
    [
      "unreadable PNG",
      () => Uint8Array.of(1, 2, 3),
      /b\.png: cannot read mask PNG/,
    ],
    [
      "wrong size",
      () => encodeMaskPng({ data: new Uint8Array(6), width: 3, height: 2 }),
      /b\.png: mask is 3x2, image .*b\.jpg is 8x4/,
    ],
    [
      "class index out of range",
      () =>
        encodeMaskPng({
          data: new Uint8Array(32).fill(7),
          width: 8,
          height: 4,
        }),
      /b\.png: class index 7 out of range \(3 classes/,
    ],
  ] as const
) {
  Deno.test(`voc reader: ${what} is a one-line error naming the file; skip counts it`, async () => {
    const root = await Deno.makeTempDir();
    try {
      await writeVoc(root, { train: ["a", "b", "c"], val: ["a"] });
      await Deno.writeFile(`${root}/SegmentationClass/b.png`, bad());
      const cfg = {
        root,
        trainSplit: "train",
        valSplit: "val",
        tuneSplit: "",
        fraction: 1,
        fractionSeed: 0,
        inputSize: 8,
        unlabeledImages: "",
      };
      const err = await loadVocSplits({ ...cfg, onError: "fail" }, CLASSES)
        .then(() => null, (e) => e as Error);
      assert.ok(err, "expected an error");
      assert.match(err.message, pattern);
      assert.equal(err.message.split("\n").length, 1);
      const s = await loadVocSplits({ ...cfg, onError: "skip" }, CLASSES);
      assert.equal(s.train.size, 2);
      const r = (s.train as unknown as {
        report: { skipped: number; messages: string[] };
      }).report;
      assert.equal(r.skipped, 1);
      assert.match(r.messages[0], pattern);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
}

Deno.test("voc reader: a missing split list names the file", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeVoc(root, { train: ["a"] });
    await assert.rejects(
      loadVocSplits({
        root,
        trainSplit: "train",
        valSplit: "val",
        tuneSplit: "",
        fraction: 1,
        fractionSeed: 0,
        inputSize: 8,
        onError: "fail",
        unlabeledImages: "",
      }, CLASSES),
      /ImageSets\/Segmentation\/val\.txt: cannot read split list/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("synthetic-seg: four disjoint splits, masks match shapes, cached", async () => {
  const cacheDir = await Deno.makeTempDir();
  try {
    const registry = createBuiltinRegistry();
    const cfg = {
      cacheDir,
      train: 6,
      tune: 3,
      val: 3,
      unlabeled: 5,
      imageSize: 32,
      inputSize: 32,
    };
    const s = (await registry.create(
      "dataset",
      "synthetic-seg",
      cfg,
    )) as import("../plugins/voc/mod.ts").SegSplits;
    assert.deepEqual([
      s.train.size,
      s.tune!.size,
      s.val.size,
      s.unlabeled!.size,
    ], [6, 3, 3, 5]);
    const ids = [s.train, s.tune!, s.val, s.unlabeled!].flatMap((d) =>
      Array.from({ length: d.size }, (_, i) => d.idOf!(i))
    );
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(s.train.classNames.length, 6);
    const x = await s.train.get(0);
    assert.ok(x.mask!.some((v) => v > 0) && x.mask!.some((v) => v === 0));
    // Images differ across splits (own seeds), and reopening reuses the cache.
    const again = (await registry.create(
      "dataset",
      "synthetic-seg",
      cfg,
    )) as typeof s;
    assert.deepEqual((await again.train.get(0)).mask, x.mask);
    const entries = [];
    for await (const e of Deno.readDir(cacheDir)) entries.push(e.name);
    assert.equal(entries.length, 1);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("S1 with PASCAL's jitter 0.2-1.5 plus crop keeps image and mask aligned", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeVoc(root, { train: ["a"], val: ["a"] });
    const s = await loadVocSplits({
      root,
      trainSplit: "train",
      valSplit: "val",
      tuneSplit: "",
      fraction: 1,
      fractionSeed: 0,
      inputSize: 32,
      onError: "fail",
      unlabeledImages: "",
    }, CLASSES);
    const x = await s.train.get(0);
    const aug = createBuiltinRegistry().create("augmenter", "S1", {
      outputSize: 32,
      jitterMin: 0.2,
      jitterMax: 1.5,
    });
    let labelled = 0, agree = 0;
    for (let seed = 0; seed < 20; seed++) {
      const y = aug.apply(x, new Rng(seed));
      assert.equal(y.mask!.length, 32 * 32);
      for (let i = 0; i < y.mask!.length; i++) {
        if (y.mask![i] === IGNORE_LABEL) continue;
        labelled++;
        if ((y.image.data[3 * i] > 125) === (y.mask![i] === 1)) agree++;
      }
    }
    assert.ok(labelled > 1000, `${labelled}`);
    assert.ok(agree / labelled > 0.95, `${agree}/${labelled}`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
