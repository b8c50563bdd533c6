import assert from "node:assert/strict";
import { readCocoDataset } from "../eval/mod.ts";
import { Registry } from "../core/registry.ts";
import { Rng } from "../core/rng.ts";
import syntheticPlugin, {
  ensureSyntheticData,
  renderScene,
  SHAPE_NAMES,
  SYNTHETIC_DEFAULTS,
} from "../plugins/synthetic/mod.ts";
import type { CocoDetectionDataset } from "../plugins/coco/mod.ts";

const SMALL = {
  imageSize: 64,
  train: 6,
  val: 4,
  unlabeled: 5,
  tune: 4,
  minSize: 10,
  maxSize: 30,
};

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("scene: deterministic, labels in range, boxes tight around visible pixels", () => {
  const opts = { ...SYNTHETIC_DEFAULTS, classes: 6 };
  const a = renderScene(new Rng(5), opts);
  const b = renderScene(new Rng(5), opts);
  assert.deepEqual(a.image.data, b.image.data);
  assert.deepEqual(a.objects, b.objects);
  let objects = 0, crowd = 0;
  const seen = new Set<number>();
  for (let s = 0; s < 200; s++) {
    for (const o of renderScene(new Rng(s), opts).objects) {
      objects++;
      crowd += o.iscrowd;
      seen.add(o.label);
      const [x, y, w, h] = o.bbox;
      assert.ok(
        x >= 0 && y >= 0 && x + w <= 128 && y + h <= 128 && w >= 1 && h >= 1,
      );
      assert.ok(o.area >= 4 && o.area <= w * h);
    }
  }
  assert.equal(seen.size, 6);
  assert.ok(objects > 300, `objects ${objects}`);
  assert.ok(crowd > 0 && crowd < objects * 0.2, `crowd ${crowd} of ${objects}`);
});

Deno.test("generator: COCO files, withheld unlabelled boxes, cache reuse, determinism", async () => {
  await withDir(async (dir) => {
    const p = await ensureSyntheticData(SMALL, `${dir}/c1`);
    const train = await readCocoDataset(p.train);
    assert.equal(train.images.length, 6);
    assert.deepEqual(
      train.categories.map((c) => c.name),
      SHAPE_NAMES.slice(0, 5),
    );
    assert.ok(train.annotations.length >= 6);
    assert.equal((await readCocoDataset(p.val)).images.length, 4);
    const unl = await readCocoDataset(p.unlabeled);
    assert.equal(unl.images.length, 5);
    assert.equal(unl.annotations.length, 0);
    assert.ok((await readCocoDataset(p.unlabeledGt)).annotations.length > 0);
    // Image ids are unique across splits.
    const ids = new Set([...train.images, ...unl.images].map((i) => i.id));
    assert.equal(ids.size, 11);
    // Cached: same root, files untouched; nothing left in temp folders.
    const before = (await Deno.stat(`${p.trainImages}/000000.jpg`)).mtime;
    const again = await ensureSyntheticData(SMALL, `${dir}/c1`);
    assert.equal(again.root, p.root);
    assert.deepEqual(
      (await Deno.stat(`${p.trainImages}/000000.jpg`)).mtime,
      before,
    );
    assert.deepEqual([...Deno.readDirSync(`${dir}/c1`)].map((e) => e.name), [
      p.root.split("/").pop(),
    ]);
    // Same options elsewhere: byte-identical; another seed: another set.
    const q = await ensureSyntheticData(SMALL, `${dir}/c2`);
    assert.deepEqual(
      await Deno.readFile(`${q.valImages}/000003.jpg`),
      await Deno.readFile(`${p.valImages}/000003.jpg`),
    );
    assert.equal(
      await Deno.readTextFile(q.train),
      await Deno.readTextFile(p.train),
    );
    const other = await ensureSyntheticData({ ...SMALL, seed: 1 }, `${dir}/c1`);
    assert.notEqual(other.root, p.root);
    assert.notEqual(
      await Deno.readTextFile(other.train),
      await Deno.readTextFile(p.train),
    );
  });
});

Deno.test("generator: bad options are one-line errors", async () => {
  await assert.rejects(
    ensureSyntheticData({ classes: 17 }, "/nonexistent"),
    /synthetic data: classes must be 1\.\.16/,
  );
  await assert.rejects(
    ensureSyntheticData({ minSize: 40, maxSize: 20 }, "/nonexistent"),
    /minSize <= maxSize/,
  );
});

Deno.test("registry 'synthetic-shapes' yields COCO-loaded splits", async () => {
  await withDir(async (dir) => {
    const registry = new Registry().use(syntheticPlugin);
    const splits = await registry.create("dataset", "synthetic-shapes", {
      ...SMALL,
      cacheDir: dir,
      inputSize: 64,
      fraction: 0.5,
    });
    assert.equal(splits.train.size, 3);
    assert.equal(splits.val.size, 4);
    assert.equal(splits.unlabeled!.size, 5);
    assert.ok(splits.valAnnotationsFile!.endsWith("/val.json"));
    assert.deepEqual(splits.train.classNames, SHAPE_NAMES.slice(0, 5));
    const s = await splits.val.get(0);
    assert.equal(s.image.width, 64);
    assert.equal(s.meta!.scale, 1);
    assert.equal(s.boxes!.length, 4 * s.labels!.length);
    assert.equal((splits.val as CocoDetectionDataset).toCategoryId(0), 1);
    const u = await splits.unlabeled!.get(0);
    assert.equal(u.boxes, undefined);
  });
});

Deno.test("generator: the tune split is disjoint from train, val and unlabelled (ids, files and pixels)", async () => {
  await withDir(async (dir) => {
    const p = await ensureSyntheticData({ ...SMALL, tune: 7 }, dir);
    const splits = {
      train: [p.train, p.trainImages],
      val: [p.val, p.valImages],
      unlabeled: [p.unlabeled, p.unlabeledImages],
      tune: [p.tune, p.tuneImages],
    };
    const ids = new Map<number, string>();
    const pixels = new Map<string, string>();
    for (const [name, [json, folder]] of Object.entries(splits)) {
      const coco = await readCocoDataset(json);
      if (name === "tune") {
        assert.equal(coco.images.length, 7);
        assert.ok(coco.annotations.length >= 7, "tune images are labelled");
      }
      for (const im of coco.images) {
        assert.ok(
          !ids.has(im.id),
          `image id ${im.id} in ${name} and ${ids.get(im.id)}`,
        );
        ids.set(im.id, name);
        const bytes = await Deno.readFile(`${folder}/${im.file_name}`);
        const hash = Array.from(
          new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)),
        ).join(",");
        assert.ok(
          !pixels.has(hash),
          `${name}/${im.file_name} repeats ${pixels.get(hash)}`,
        );
        pixels.set(hash, `${name}/${im.file_name}`);
      }
    }
    // Adding the tune split left the other splits' images as they were.
    const before = await ensureSyntheticData({ ...SMALL, tune: 0 }, dir);
    for (const split of ["train", "val", "unlabeled"] as const) {
      const folder = `${split}Images` as const;
      const coco = await readCocoDataset(p[split]);
      for (const im of coco.images) {
        assert.deepEqual(
          await Deno.readFile(`${before[folder]}/${im.file_name}`),
          await Deno.readFile(`${p[folder]}/${im.file_name}`),
        );
      }
    }
  });
});
