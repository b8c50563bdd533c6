/**
 * The labelled-fraction axis as the recipes apply it: `data.fraction` with
 * the run's seed keeps the same training images for the same seed, and a
 * smaller fraction's images lie inside a larger one's (20% ⊂ 50% ⊂ 100%),
 * for detection (COCO files) and segmentation (VOC layout); both pascal
 * recipes take the key.
 */
import assert from "node:assert/strict";
import { resolveConfig } from "../core/runner.ts";
import type { Dataset } from "../core/types.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";
import {
  DETECTION_DATA_DEFAULTS,
  loadDetectionData,
} from "../recipes/detection.ts";
import { loadSegData, SEG_DATA_DEFAULTS } from "../recipes/segmentation.ts";
import { tinySegSet, tinySet } from "./recipe_helpers.ts";

function ids(d: Dataset): string[] {
  return Array.from({ length: d.size }, (_, i) => String(d.idOf!(i)));
}

function assertNested(
  load: (fraction: number, seed: number) => Promise<Dataset>,
  n: number,
): Promise<void> {
  return (async () => {
    const all = ids(await load(1, 0));
    assert.equal(all.length, n);
    for (const seed of [0, 1, 7]) {
      const small = ids(await load(0.25, seed));
      const half = ids(await load(0.5, seed));
      assert.equal(small.length, Math.round(0.25 * n));
      assert.equal(half.length, Math.round(0.5 * n));
      assert.ok(
        small.every((id) => half.includes(id)),
        `seed ${seed}: 25% ⊄ 50%`,
      );
      assert.ok(half.every((id) => all.includes(id)));
      assert.deepEqual(
        ids(await load(0.5, seed)),
        half,
        "same seed, same images",
      );
    }
    assert.notDeepEqual(ids(await load(0.5, 0)), ids(await load(0.5, 1)));
  })();
}

Deno.test("study fraction: detection's data.fraction is deterministic per seed and nested", async () => {
  const registry = createBuiltinRegistry();
  const p = await tinySet();
  const data = {
    ...DETECTION_DATA_DEFAULTS,
    train: p.train,
    trainImages: p.trainImages,
    val: p.val,
    valImages: p.valImages,
    inputSize: 64,
  };
  await assertNested(
    async (fraction, seed) =>
      (await loadDetectionData(registry, { ...data, fraction }, seed)).train,
    12,
  );
});

Deno.test("study fraction: segmentation's data.fraction is deterministic per seed and nested", async () => {
  const registry = createBuiltinRegistry();
  const root = await tinySegSet(
    await Deno.makeTempDir({ prefix: "study_fraction_" }),
    {
      train: 16,
      tune: 2,
      val: 2,
      unlabeled: 2,
    },
  );
  const d = { ...SEG_DATA_DEFAULTS, root, inputSize: 32 };
  await assertNested(
    async (fraction, seed) =>
      (await loadSegData(registry, { ...d, fraction }, seed)).train,
    16,
  );
  // Val keeps every image whatever the fraction.
  const s = await loadSegData(registry, { ...d, fraction: 0.25 }, 0);
  assert.equal(s.val.size, 2);
  await assert.rejects(
    loadSegData(registry, { ...d, fraction: 0 }, 0),
    /fraction must be in \(0, 1\], got 0/,
  );
});

Deno.test("study fraction: both pascal recipes take --data.fraction and document it", () => {
  const registry = createBuiltinRegistry();
  for (const recipe of ["pascal-supervised", "pascal-selftrain"]) {
    const c = resolveConfig(registry, recipe, { "data.fraction": "0.2" });
    assert.equal((c.data as Record<string, unknown>).fraction, 0.2);
    assert.match(
      registry.get("recipe", recipe).help["data.fraction"],
      /subset of a larger one/,
    );
  }
});
