import assert from "node:assert/strict";
import {
  pseudoLabelsFromDetections,
  PseudoLabelStore,
  readCoco,
} from "../selftrain/mod.ts";
import { FAKE_CATEGORIES } from "./selftrain_fake_pool.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const image = (id: number | string) => ({ id, width: 100, height: 50 });

Deno.test("pseudo store: COCO output, scores kept, stats and histogram", () =>
  withDir(async (dir) => {
    const store = await PseudoLabelStore.open(dir, {
      categories: FAKE_CATEGORIES,
    });
    await store.addPseudoLabels(pseudoLabelsFromDetections(image(5), [
      { box: [10, 20, 40, 60], label: 2, score: 0.95 },
      { box: [0, 0, 5, 5], label: 0, score: 0.5 },
    ]));
    await store.addPseudoLabels(pseudoLabelsFromDetections(image(2), []));
    await store.addPseudoLabels(
      pseudoLabelsFromDetections(image("b"), [
        { box: [1, 1, 2, 3], label: 1, score: 0.71 },
      ]),
      "b.png",
    );
    assert.ok(store.has(5) && store.has("b") && !store.has("5"));
    assert.throws(
      () => store.addPseudoLabels(pseudoLabelsFromDetections(image(5), [])),
      /image 5 is already labelled/,
    );
    assert.throws(
      () =>
        store.addPseudoLabels(pseudoLabelsFromDetections(image(9), [{
          box: [0, 0, 1, 1],
          label: 3,
          score: 1,
        }])),
      /label 3 has no category/,
    );
    const stats = store.stats();
    assert.equal(stats.images, 3);
    assert.equal(stats.boxes, 3);
    assert.deepEqual(stats.scoreHistogram.counts, [
      0,
      0,
      0,
      0,
      0,
      1,
      0,
      1,
      0,
      1,
    ]);
    assert.deepEqual(stats.perCategory, { 1: 1, 3: 1, 7: 1 });
    const path = await store.finalize();
    await store.close();
    const coco = await readCoco(path);
    assert.deepEqual(coco.images.map((i) => i.id), [2, 5, "b"]);
    assert.equal(coco.images[2].file_name, "b.png");
    assert.deepEqual(coco.annotations, [
      {
        id: 1,
        image_id: 5,
        category_id: 7,
        bbox: [10, 20, 30, 40],
        area: 1200,
        iscrowd: 0,
        score: Math.fround(0.95), // scores are float32, as labelers return them
      },
      {
        id: 2,
        image_id: 5,
        category_id: 1,
        bbox: [0, 0, 5, 5],
        area: 25,
        iscrowd: 0,
        score: 0.5,
      },
      {
        id: 3,
        image_id: "b",
        category_id: 3,
        bbox: [1, 1, 1, 2],
        area: 2,
        iscrowd: 0,
        score: Math.fround(0.71),
      },
    ]);
    assert.deepEqual(coco.categories, FAKE_CATEGORIES);
  }));

Deno.test("pseudo store: reopen resumes; stale COCO removed on new records; other categories refused", () =>
  withDir(async (dir) => {
    const first = await PseudoLabelStore.open(dir, {
      categories: FAKE_CATEGORIES,
    });
    await first.addPseudoLabels(pseudoLabelsFromDetections(image(1), []));
    const path = await first.finalize();
    await first.close();
    const again = await PseudoLabelStore.open(dir, {
      categories: FAKE_CATEGORIES,
    });
    assert.ok(again.has(1));
    assert.equal(again.size, 1);
    await again.addPseudoLabels(pseudoLabelsFromDetections(image(2), []));
    await assert.rejects(Deno.stat(path)); // the old file no longer matches
    assert.equal((await readCoco(await again.finalize())).images.length, 2);
    await again.close();
    await assert.rejects(
      PseudoLabelStore.open(dir, { categories: FAKE_CATEGORIES.slice(1) }),
      /written for other categories or shard/,
    );
    // A shard has its own journal, so shards can share a folder.
    const shard = await PseudoLabelStore.open(dir, {
      categories: FAKE_CATEGORIES,
      shard: { index: 0, count: 2 },
    });
    assert.ok(
      shard.journalPath.endsWith("/pseudo_labels.shard-00000-of-00002.jsonl"),
    );
    assert.equal(shard.size, 0);
    await shard.close();
  }));

Deno.test("pseudo store: corrupt middle line is an error naming the file", () =>
  withDir(async (dir) => {
    const store = await PseudoLabelStore.open(dir, {
      categories: FAKE_CATEGORIES,
    });
    await store.addPseudoLabels(pseudoLabelsFromDetections(image(1), []));
    await store.addPseudoLabels(pseudoLabelsFromDetections(image(2), []));
    await store.close();
    const lines = (await Deno.readTextFile(store.journalPath)).split("\n");
    lines[1] = lines[1].slice(0, 10);
    await Deno.writeTextFile(store.journalPath, lines.join("\n"));
    await assert.rejects(
      PseudoLabelStore.open(dir, { categories: FAKE_CATEGORIES }),
      /pseudo_labels\.jsonl: corrupt journal line 2/,
    );
  }));
