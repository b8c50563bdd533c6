/**
 * The built-in classification set (`synthetic-objects`) and the shapes it
 * shares with the detection set: detection scenes unchanged by the new
 * shapes, every shape distinct from every other under rotation, the image
 * folder written once, balanced, deterministic and served by
 * `image-folder`.
 */
import assert from "node:assert/strict";
import { Registry } from "../core/registry.ts";
import { Rng, seedFor } from "../core/rng.ts";
import syntheticPlugin, {
  ensureObjectSet,
  renderObjectImage,
  renderScene,
  SHAPE_NAMES,
  SYNTHETIC_DEFAULTS,
} from "../plugins/synthetic/mod.ts";
import { shapeTest } from "../plugins/synthetic/shapes.ts";

async function sha(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest(
    "SHA-256",
    bytes as Uint8Array<ArrayBuffer>,
  );
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0"))
    .join("").slice(0, 16);
}

Deno.test("detection scenes are unchanged by the classification shapes (digests of the default set's first images)", async () => {
  // Digests taken before the shapes were added: cached sets and the
  // README's numbers depend on these pixels.
  const want: Record<number, [string, string]> = {
    0: ["342d600f106a5fb0", "ddc7282bf5b7a045"],
    7: ["fef3a64c733f7c31", "765bc890a63987fa"],
  };
  for (const [i, [image, classMap]] of Object.entries(want)) {
    const s = renderScene(
      new Rng(seedFor(0, 0, Number(i))),
      SYNTHETIC_DEFAULTS,
    );
    assert.equal(await sha(s.image.data), image);
    assert.equal(await sha(s.classMap), classMap);
  }
});

/** Silhouette of shape `label` rotated by `angle`, on a 48x48 grid. */
function silhouette(label: number, angle: number): Uint8Array {
  const inside = shapeTest(label), n = 48, out = new Uint8Array(n * n);
  const c = Math.cos(angle), s = Math.sin(angle);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const dx = (x + 0.5) / n * 2.4 - 1.2, dy = (y + 0.5) / n * 2.4 - 1.2;
      out[y * n + x] = inside(dx * c + dy * s, -dx * s + dy * c) ? 1 : 0;
    }
  }
  return out;
}

function iou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0, union = 0;
  for (let i = 0; i < a.length; i++) {
    inter += a[i] & b[i];
    union += a[i] | b[i];
  }
  return inter / union;
}

Deno.test("16 shapes, each one distinct from every other at every rotation", () => {
  assert.equal(SHAPE_NAMES.length, 16);
  assert.equal(new Set(SHAPE_NAMES).size, 16);
  const angles = Array.from({ length: 24 }, (_, k) => (k * Math.PI) / 12);
  for (let a = 0; a < 16; a++) {
    const sa = silhouette(a, 0);
    const filled = sa.reduce((x, y) => x + y, 0);
    assert.ok(filled > 150, `${SHAPE_NAMES[a]} covers ${filled} cells`);
    for (let b = 0; b < 16; b++) {
      if (a === b) continue;
      const best = Math.max(...angles.map((t) => iou(sa, silhouette(b, t))));
      // Filled convex shapes overlap a lot (circle / square 0.78, hexagon /
      // pentagon 0.87); a duplicate (a "diamond": a turned square) is 1.
      assert.ok(
        best < 0.9,
        `${SHAPE_NAMES[a]} vs ${SHAPE_NAMES[b]}: IoU ${best.toFixed(2)}`,
      );
    }
  }
});

const TINY = {
  imageSize: 24,
  classes: 5,
  trainPerClass: 3,
  tunePerClass: 1,
  valPerClass: 2,
};

Deno.test("synthetic-objects: balanced image folder, written once, deterministic, served by image-folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "objects-" });
  try {
    const root = await ensureObjectSet(TINY, `${dir}/a`);
    const names = SHAPE_NAMES.slice(0, 5);
    for (
      const [split, per] of [["train", 3], ["tune", 1], ["val", 2]] as const
    ) {
      for (const name of names) {
        const files = [...Deno.readDirSync(`${root}/${split}/${name}`)];
        assert.equal(files.length, per, `${split}/${name}`);
      }
    }
    // Cached: a second call finds it complete and writes nothing.
    const marker = (await Deno.stat(`${root}/COMPLETE`)).mtime;
    assert.equal(await ensureObjectSet(TINY, `${dir}/a`), root);
    assert.deepEqual((await Deno.stat(`${root}/COMPLETE`)).mtime, marker);
    // Deterministic: another cache gets the same bytes.
    const again = await ensureObjectSet(TINY, `${dir}/b`);
    const file = `train/${names[2]}/000002.jpg`;
    assert.deepEqual(
      await Deno.readFile(`${again}/${file}`),
      await Deno.readFile(`${root}/${file}`),
    );
    // Other options, other folder.
    assert.notEqual(
      await ensureObjectSet({ ...TINY, seed: 1 }, `${dir}/a`),
      root,
    );
    await assert.rejects(
      () => ensureObjectSet({ ...TINY, classes: 17 }, `${dir}/a`),
      /synthetic-objects: classes must be 2\.\.16/,
    );

    const registry = new Registry().use(syntheticPlugin);
    const splits = await registry.create("dataset", "synthetic-objects", {
      ...TINY,
      cacheDir: `${dir}/a`,
      inputSize: 16,
    });
    assert.deepEqual(splits.train.classNames, [...names].sort());
    assert.equal(splits.train.size, 15);
    assert.equal(splits.tune?.size, 5);
    assert.equal(splits.val.size, 10);
    const s = await splits.val.get(3);
    assert.equal(s.image.width, 16);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("object images: deterministic in the rng, the class changes the picture", () => {
  const o = {
    ...TINY,
    seed: 0,
    minScale: 0.45,
    maxScale: 0.9,
    clutter: 4,
    distractor: 0.3,
    jpegQuality: 90,
  };
  const a = renderObjectImage(new Rng(3), o, 1);
  assert.deepEqual(renderObjectImage(new Rng(3), o, 1).data, a.data);
  assert.notDeepEqual(renderObjectImage(new Rng(3), o, 2).data, a.data);
  assert.equal(a.width, 24);
});
