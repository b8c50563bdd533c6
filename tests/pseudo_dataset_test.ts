import assert from "node:assert/strict";
import type { Dataset, Sample } from "../core/types.ts";
import { PseudoLabeledDataset } from "../selftrain/pseudo_dataset.ts";

// Two source images letterboxed at scale 0.5; only image 20 was labelled.
const base: Dataset = {
  size: 2,
  classNames: ["a", "b"],
  idOf: (i) => [10, 20][i],
  get: (i): Promise<Sample> =>
    Promise.resolve({
      id: [10, 20][i],
      image: {
        data: new Uint8Array(4 * 4 * 3),
        width: 4,
        height: 4,
        channels: 3,
      },
      meta: { sourceWidth: 8, sourceHeight: 8, scale: 0.5 },
    }),
};

Deno.test("pseudo dataset: boxes to sample pixels, labels by sorted category id, ignore regions kept", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/pseudo.json`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      images: [{ id: 20, file_name: "b.jpg", width: 8, height: 8 }],
      annotations: [
        {
          id: 1,
          image_id: 20,
          category_id: 7,
          bbox: [2, 2, 4, 2],
          area: 8,
          iscrowd: 0,
          score: 0.9,
        },
        {
          id: 2,
          image_id: 20,
          category_id: 3,
          bbox: [0, 0, 2, 2],
          area: 4,
          iscrowd: 1,
          score: 0.2,
        },
      ],
      categories: [{ id: 7, name: "b" }, { id: 3, name: "a" }],
    }),
  );
  const ds = await PseudoLabeledDataset.open(base, path);
  assert.equal(ds.size, 1);
  const s = await ds.get(0);
  assert.equal(s.id, 20);
  assert.equal(s.pseudo, true);
  assert.deepEqual(Array.from(s.boxes!), [1, 1, 3, 2, 0, 0, 1, 1]);
  assert.deepEqual(Array.from(s.labels!), [1, 0]);
  assert.deepEqual(Array.from(s.crowd!), [0, 1]);
  assert.deepEqual(Array.from(s.scores!).map((v) => +v.toFixed(2)), [0.9, 0.2]);
  await Deno.writeTextFile(path, "{");
  await assert.rejects(
    PseudoLabeledDataset.open(base, path),
    /pseudo\.json: malformed JSON/,
  );
});

Deno.test("pseudo dataset: a box whose category the dataset lacks is an error naming the file, not class 0", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/pseudo.json`;
  const write = (categories: unknown[], categoryId: number) =>
    Deno.writeTextFile(
      path,
      JSON.stringify({
        images: [{ id: 20, file_name: "b.jpg", width: 8, height: 8 }],
        annotations: [{
          id: 1,
          image_id: 20,
          category_id: categoryId,
          bbox: [2, 2, 4, 2],
          area: 8,
          iscrowd: 0,
          score: 0.9,
        }],
        categories,
      }),
    );
  await write([{ id: 7, name: "b" }, { id: 3, name: "a" }], 9);
  await assert.rejects(
    PseudoLabeledDataset.open(base, path),
    /pseudo\.json: pseudo box of image 20 has category 9, which is not in the dataset's categories \[7, 3\]/,
  );
  await write([{ id: 7, name: "b" }], 7);
  await assert.rejects(
    PseudoLabeledDataset.open(base, path),
    /pseudo\.json: 1 categories, the dataset has 2 classes/,
  );
});
