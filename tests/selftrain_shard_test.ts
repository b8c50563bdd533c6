import assert from "node:assert/strict";
import { main as mergeMain } from "../cli/merge_labels.ts";
import {
  idShard,
  mergeShardFiles,
  parseShard,
  PseudoLabelStore,
  shardIndices,
  shardRange,
  shardTag,
} from "../selftrain/mod.ts";
import { FAKE_CATEGORIES, fakeId, labelPool } from "./selftrain_fake_pool.ts";

Deno.test("parseShard: I/N accepted, bad text rejected with the text", () => {
  assert.deepEqual(parseShard("3/16"), { index: 3, count: 16 });
  assert.deepEqual(parseShard(" 0 / 1 "), { index: 0, count: 1 });
  for (const bad of ["16/16", "1/0", "-1/4", "a/b", "3", "1.5/4"]) {
    assert.throws(
      () => parseShard(bad),
      new RegExp(`--shard expects I/N.*"${bad.replace(".", "\\.")}"`),
    );
  }
  assert.equal(shardTag({ index: 3, count: 16 }), "shard-00003-of-00016");
  assert.equal(shardTag({ index: 0, count: 1 }), "");
});

Deno.test("shardIndices: range and hash slicings partition the pool", () => {
  for (const size of [0, 1, 7, 50, 101]) {
    for (const count of [1, 2, 3, 7, 8]) {
      for (const mode of ["range", "hash"] as const) {
        const all = Array.from(
          { length: count },
          (_, index) => shardIndices(size, { index, count }, mode, fakeId),
        ).flat();
        assert.deepEqual(
          all.sort((a, b) => a - b),
          Array.from({ length: size }, (_, i) => i),
          `${mode} ${size}/${count}`,
        );
      }
      const sizes = Array.from({ length: count }, (_, index) => {
        const [s, e] = shardRange(size, { index, count });
        return e - s;
      });
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
    }
  }
  // FNV-1a 32 reference values (computed with Python): "a", "1000".
  assert.equal(idShard("a", 2 ** 31), 0xe40c292c % 2 ** 31);
  assert.equal(idShard(1000, 1 << 30), 0x2297cac4 % (1 << 30));
});

Deno.test("shard + merge equals one unsharded run, byte for byte (range and hash)", async () => {
  const root = await Deno.makeTempDir();
  try {
    const POOL = 137;
    await (await labelPool(`${root}/whole`, POOL, { index: 0, count: 1 }))
      .close();
    const whole = await Deno.readTextFile(`${root}/whole/pseudo_labels.json`);
    for (const [mode, count] of [["range", 3], ["hash", 4]] as const) {
      const dir = `${root}/${mode}`;
      for (let index = 0; index < count; index++) {
        await (await labelPool(dir, POOL, { index, count }, mode)).close();
      }
      const out = `${root}/${mode}-merged.json`;
      await Deno.writeTextFile(`${dir}/metrics.json`, "{}"); // not a shard: skipped
      const summary = await mergeShardFiles([dir], out);
      assert.equal(summary.files, count);
      assert.equal(summary.images, POOL);
      assert.equal(await Deno.readTextFile(out), whole, mode);
    }
    // The CLI, with explicit files.
    const files = [0, 1, 2].map((i) =>
      PseudoLabelStore.cocoPathFor(`${root}/range`, { index: i, count: 3 })
    );
    assert.equal(await mergeMain(["--out", `${root}/cli.json`, ...files]), 0);
    assert.equal(await Deno.readTextFile(`${root}/cli.json`), whole);
    assert.equal(
      await mergeMain(["--out", `${root}/cli2.json`, files[0], files[2]]),
      1,
    );
    assert.equal(
      await mergeMain([
        "--out",
        `${root}/cli2.json`,
        "--allow-partial",
        files[0],
        files[2],
      ]),
      0,
    );
    assert.equal(await mergeMain([files[0]]), 2);
    assert.equal(
      await mergeMain(["--out", `${root}/x.json`, `${root}/whole`]),
      1,
    ); // no shard files
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("merge: missing shard, duplicate image, other categories are errors", async () => {
  const root = await Deno.makeTempDir();
  try {
    for (const index of [0, 1]) {
      await (await labelPool(root, 20, { index, count: 3 })).close();
    }
    const f = (i: number) =>
      PseudoLabelStore.cocoPathFor(root, { index: i, count: 3 });
    await assert.rejects(
      mergeShardFiles([root], `${root}/m.json`),
      /missing shard\(s\) 2 of 3/,
    );
    await assert.rejects(
      mergeShardFiles([f(0), f(0)], `${root}/m.json`, true),
      /shard 0\/3 already given/,
    );
    // Same images relabelled as a whole pool: every image of shard 0 repeats.
    await (await labelPool(`${root}/whole`, 20, { index: 0, count: 1 }))
      .close();
    await assert.rejects(
      mergeShardFiles(
        [f(0), `${root}/whole/pseudo_labels.json`],
        `${root}/m.json`,
        true,
      ),
      /pseudo_labels.json: image id 1000 is also in .*shard-00000-of-00003.json/,
    );
    const other = await PseudoLabelStore.open(`${root}/other`, {
      categories: FAKE_CATEGORIES.slice(0, 2),
    });
    const otherPath = await other.finalize();
    await other.close();
    await assert.rejects(
      mergeShardFiles([f(0), otherPath], `${root}/m.json`, true),
      /categories differ/,
    );
    await assert.rejects(Deno.stat(`${root}/m.json`));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
