import assert from "node:assert/strict";
import { evaluateCoco, readCocoDataset, readCocoResults } from "../eval/mod.ts";
import { createImage, writeImage } from "../image/codec.ts";
import { Registry } from "../core/registry.ts";
import cocoPlugin, {
  CategoryMap,
  CocoDetectionDataset,
  indexCocoSplit,
  loadCocoSplits,
  selectFraction,
  toCocoResults,
  writeCocoResults,
} from "../plugins/coco/mod.ts";
import type { Prediction } from "../core/types.ts";

const CATS = [{ id: 90, name: "zebra" }, { id: 3, name: "car" }, {
  id: 7,
  name: "cat",
}];

async function fixture(
  dir: string,
  mutate?: (j: Record<string, unknown[]>) => void,
): Promise<string> {
  await Deno.mkdir(`${dir}/img`, { recursive: true });
  const a = createImage(200, 100);
  a.data.fill(90);
  await writeImage(`${dir}/img/a.jpg`, a);
  await writeImage(`${dir}/img/b.png`, createImage(50, 80));
  const json: Record<string, unknown[]> = {
    images: [
      { id: 12, file_name: "b.png", width: 50, height: 80 },
      { id: 5, file_name: "a.jpg", width: 200, height: 100 },
    ],
    categories: CATS,
    annotations: [
      {
        id: 1,
        image_id: 5,
        category_id: 7,
        bbox: [10, 20, 100, 50],
        area: 5000,
        iscrowd: 0,
      },
      {
        id: 2,
        image_id: 5,
        category_id: 90,
        bbox: [0, 0, 200, 100],
        area: 20000,
        iscrowd: 1,
      },
      {
        id: 3,
        image_id: 12,
        category_id: 3,
        bbox: [5, 5, 40, 70],
        area: 2800,
        iscrowd: 0,
      },
    ],
  };
  mutate?.(json);
  await Deno.writeTextFile(`${dir}/ann.json`, JSON.stringify(json));
  return `${dir}/ann.json`;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("category map: contiguous by id, round-trips", () => {
  const m = new CategoryMap(CATS);
  assert.deepEqual(m.names, ["car", "cat", "zebra"]);
  assert.deepEqual([0, 1, 2].map((l) => m.toCategoryId(l)), [3, 7, 90]);
  assert.deepEqual([3, 7, 90, 4].map((c) => m.toLabel(c)), [
    0,
    1,
    2,
    undefined,
  ]);
  assert.throws(() => m.toCategoryId(3), /label 3 out of range/);
  assert.throws(
    () => new CategoryMap([...CATS, { id: 3, name: "x" }], "f.json"),
    /f\.json: duplicate category id 3/,
  );
});

Deno.test("loader: letterboxed samples with scaled boxes, crowd kept, meta", async () => {
  await withDir(async (dir) => {
    const ann = await fixture(dir);
    const idx = await indexCocoSplit(ann, `${dir}/img`);
    const ds = new CocoDetectionDataset(idx, { inputSize: 64 });
    assert.equal(ds.size, 2);
    assert.deepEqual(ds.classNames, ["car", "cat", "zebra"]);
    const s = await ds.get(0); // image id 5 sorts first
    assert.equal(s.id, 5);
    assert.equal(s.image.width, 64);
    assert.equal(s.image.height, 64);
    assert.deepEqual(s.meta, {
      sourceWidth: 200,
      sourceHeight: 100,
      scale: 0.32,
      file: `${dir}/img/a.jpg`,
    });
    assert.deepEqual([...s.labels!], [1, 2]);
    assert.deepEqual([...s.crowd!], [0, 1]);
    assert.deepEqual([...s.boxes!].map((v) => +v.toFixed(3)), [
      3.2,
      6.4,
      35.2,
      22.4,
      0,
      0,
      64,
      32,
    ]);
    // Padding (bottom) is zero, content is the image.
    assert.equal(s.image.data[(60 * 64 + 5) * 3], 0);
    assert.ok(Math.abs(s.image.data[(5 * 64 + 5) * 3] - 90) <= 3);
    const png = await ds.get(1);
    assert.equal(png.meta!.scale, 0.8);
    assert.equal(ds.toCategoryId(png.labels![0]), 3);
  });
});

Deno.test("labelled fraction is deterministic per seed and nested", () => {
  const items = Array.from({ length: 100 }, (_, i) => i);
  const a = selectFraction(items, 0.2, 1);
  assert.equal(a.length, 20);
  assert.deepEqual(selectFraction(items, 0.2, 1), a);
  assert.notDeepEqual(selectFraction(items, 0.2, 2), a);
  const small = selectFraction(items, 0.1, 1);
  assert.ok(small.every((x) => a.includes(x)));
  assert.deepEqual(a, [...a].sort((x, y) => x - y));
  assert.equal(selectFraction(items, 0.001, 1).length, 1);
  assert.throws(
    () => selectFraction(items, 0, 1),
    /fraction must be in \(0, 1\]/,
  );
});

const BAD: [string, (j: Record<string, unknown[]>) => void, RegExp][] = [
  [
    "missing image file",
    (j) => (j.images[0] as Record<string, unknown>).file_name = "nope.jpg",
    /img\/nope\.jpg: missing image file/,
  ],
  [
    "box outside the image",
    (j) => (j.annotations[2] as Record<string, unknown>).bbox = [30, 5, 40, 70],
    /annotation 3: box \[30, 5, 40, 70\] outside the 50x80 image/,
  ],
  [
    "zero-area box",
    (j) => (j.annotations[2] as Record<string, unknown>).bbox = [5, 5, 0, 70],
    /annotation 3: zero-area box/,
  ],
  [
    "unknown category id",
    (j) => (j.annotations[2] as Record<string, unknown>).category_id = 4,
    /annotation 3: unknown category id 4/,
  ],
];

for (const [reason, mutate, message] of BAD) {
  Deno.test(`bad data (${reason}): one-line error on fail, counted skip on skip`, async () => {
    await withDir(async (dir) => {
      const ann = await fixture(dir, mutate);
      await assert.rejects(indexCocoSplit(ann, `${dir}/img`), (e: Error) => {
        assert.match(e.message, message);
        assert.ok(e.message.includes(dir), "names the file");
        assert.ok(!e.message.includes("\n"));
        return true;
      });
      const warn = console.warn;
      console.warn = () => {};
      try {
        const idx = await indexCocoSplit(ann, `${dir}/img`, {
          onError: "skip",
        });
        assert.deepEqual(idx.entries.map((e) => e.id), [5]);
        assert.equal(idx.report.skippedImages, 1);
        assert.equal(idx.report.byReason.get(reason), 1);
        assert.match(
          idx.report.summary(2),
          new RegExp(`skipped 1 of 2 images \\(${reason}: 1\\)`),
        );
      } finally {
        console.warn = warn;
      }
    });
  });
}

Deno.test("bad data: unreadable image and malformed JSON", async () => {
  await withDir(async (dir) => {
    const ann = await fixture(dir);
    await Deno.writeTextFile(`${dir}/img/b.png`, "not a png at all");
    await assert.rejects(
      indexCocoSplit(ann, `${dir}/img`),
      /img\/b\.png: unreadable image/,
    );
    await Deno.writeTextFile(`${dir}/bad.json`, '{"images": [');
    await assert.rejects(
      indexCocoSplit(`${dir}/bad.json`, `${dir}/img`),
      /bad\.json: malformed JSON/,
    );
  });
});

Deno.test("truncated image: fail names it at get(), skip substitutes the next", async () => {
  await withDir(async (dir) => {
    const ann = await fixture(dir);
    const bytes = await Deno.readFile(`${dir}/img/a.jpg`);
    await Deno.writeFile(
      `${dir}/img/a.jpg`,
      bytes.slice(0, Math.floor(bytes.length / 3)),
    );
    const idx = await indexCocoSplit(ann, `${dir}/img`);
    await assert.rejects(new CocoDetectionDataset(idx).get(0), /img\/a\.jpg: /);
    const warn = console.warn;
    console.warn = () => {};
    try {
      const ds = new CocoDetectionDataset(idx, { onError: "skip" });
      const s = await ds.get(0);
      assert.equal(s.id, 12);
      assert.equal(ds.report.byReason.get("unreadable image"), 1);
    } finally {
      console.warn = warn;
    }
  });
});

Deno.test("registry 'coco' dataset, results writer round-trips through evaluation", async () => {
  await withDir(async (dir) => {
    const ann = await fixture(dir);
    const registry = new Registry().use(cocoPlugin);
    const splits = await registry.create("dataset", "coco", {
      train: ann,
      trainImages: `${dir}/img`,
      val: ann,
      valImages: `${dir}/img`,
      unlabeledImages: `${dir}/img`,
      inputSize: 32,
      fraction: 0.5,
      seed: 3,
    });
    assert.equal(splits.train.size, 1);
    assert.equal(splits.val.size, 2);
    assert.equal(splits.unlabeled!.size, 2);
    assert.equal((await splits.unlabeled!.get(0)).boxes, undefined);
    assert.equal(splits.valAnnotationsFile, ann);
    // Perfect predictions in source pixels → AP 1.
    const val = splits.val as CocoDetectionDataset;
    const preds: Prediction[] = [];
    for (const e of val.entries) {
      preds.push({
        id: e.id,
        detections: [...e.labels].map((label, i) => ({
          box: [...e.boxes.subarray(4 * i, 4 * i + 4)] as [
            number,
            number,
            number,
            number,
          ],
          label,
          score: 0.9,
        })).filter((_, i) => !e.crowd[i]),
      });
    }
    const results = toCocoResults(preds, val);
    assert.deepEqual(results.map((r) => r.category_id).sort(), [3, 7]);
    await writeCocoResults(`${dir}/dets.json`, results);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "ann.json",
      "dets.json",
      "img",
    ]);
    const r = evaluateCoco(
      await readCocoDataset(ann),
      await readCocoResults(`${dir}/dets.json`),
    );
    assert.ok(Math.abs(r.metrics.AP - 1) < 1e-9);
    await assert.rejects(
      loadCocoSplits({
        ...(await import("../plugins/coco/mod.ts")).COCO_DATA_DEFAULTS,
        train: ann,
        val: ann,
        onError: "maybe",
      }),
      /data\.onError must be "fail" or "skip"/,
    );
  });
});
