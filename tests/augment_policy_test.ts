/**
 * Policies: sub-policy and op sampling frequencies, per-box probability
 * p/3, RandAugment layer draws, determinism by seed, levels S1–S4 through
 * the registry, and mask handling for segmentation samples.
 */
import assert from "node:assert/strict";
import { Registry } from "../core/registry.ts";
import { Rng, seedFor } from "../core/rng.ts";
import { IGNORE_LABEL, type Sample } from "../core/types.ts";
import augment, {
  AA_CONSTANTS,
  AutoAugment,
  constantsWith,
  getOp,
  POLICIES,
  RandAugment,
  RANDAUGMENT_OPS,
} from "../plugins/augment/mod.ts";

function pixel(v: number): Sample {
  return {
    id: 0,
    image: { data: Uint8Array.of(v, v, v), width: 1, height: 1, channels: 3 },
  };
}

/** 64×48 noise image with three boxes and a mask. */
function scene(seed: number): Sample {
  const rng = new Rng(seed);
  const W = 64, H = 48;
  const data = new Uint8Array(W * H * 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  const mask = new Uint8Array(W * H);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.int(4);
  return {
    id: seed,
    image: { data, width: W, height: H, channels: 3 },
    boxes: Float32Array.of(2, 3, 30, 40, 40, 5, 60, 20, 10, 30, 50, 46),
    labels: Int32Array.of(0, 1, 2),
    crowd: Uint8Array.of(0, 0, 1),
    mask,
  };
}

function near(got: number, want: number, tol: number, what: string) {
  assert.ok(Math.abs(got - want) <= tol, `${what}: ${got} vs ${want} ± ${tol}`);
}

Deno.test("AutoAugment draws sub-policies uniformly", () => {
  // Sub-policy i adds 11·i to a black pixel, so the result names it.
  const aa = new AutoAugment(
    [1, 2, 3, 4].map((l) => [["SolarizeAdd", 1, l]] as const),
  );
  const counts = new Map<number, number>();
  const rng = new Rng(5);
  const N = 8000;
  for (let t = 0; t < N; t++) {
    const v = aa.apply(pixel(0), rng).image.data[0];
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  assert.deepEqual([...counts.keys()].sort((a, b) => a - b), [11, 22, 33, 44]);
  for (const c of counts.values()) near(c / N, 0.25, 0.02, "sub-policy");
});

Deno.test("AutoAugment applies each op with its probability", () => {
  const aa = new AutoAugment([[["SolarizeAdd", 0.3, 10], ["Invert", 0.6, 0]]]);
  const rng = new Rng(9);
  const N = 8000;
  const seen = new Map<number, number>();
  for (let t = 0; t < N; t++) {
    const v = aa.apply(pixel(0), rng).image.data[0];
    seen.set(v, (seen.get(v) ?? 0) + 1);
  }
  // 0 → (+110?) → (invert?): 0 (0.7·0.4), 110 (0.3·0.4), 255 (0.7·0.6), 145 (0.3·0.6)
  near((seen.get(0) ?? 0) / N, 0.28, 0.02, "neither");
  near((seen.get(110) ?? 0) / N, 0.12, 0.02, "first only");
  near((seen.get(255) ?? 0) / N, 0.42, 0.02, "second only");
  near((seen.get(145) ?? 0) / N, 0.18, 0.02, "both");
});

Deno.test("_Only_BBoxes ops act per box with probability p/3", () => {
  // Solarize level 0 (threshold 0) inverts the whole box when applied.
  const aa = new AutoAugment([[["Solarize_Only_BBoxes", 0.6, 0]]]);
  const s: Sample = {
    id: 0,
    image: {
      data: new Uint8Array(4 * 4 * 3),
      width: 4,
      height: 4,
      channels: 3,
    },
    boxes: Float32Array.of(0, 0, 2, 2, 2, 2, 4, 4),
  };
  const rng = new Rng(11);
  const N = 6000;
  let a = 0, b = 0;
  for (let t = 0; t < N; t++) {
    const out = aa.apply(s, rng).image.data;
    if (out[0] === 255) a++;
    if (out[(3 * 4 + 3) * 3] === 255) b++;
    assert.equal(out[(0 * 4 + 3) * 3], 0, "outside boxes untouched");
  }
  near(a / N, 0.2, 0.02, "box 1");
  near(b / N, 0.2, 0.02, "box 2");
});

Deno.test("policies v0–v3 resolve and run on a scene", () => {
  assert.deepEqual(Object.keys(POLICIES), ["v0", "v1", "v2", "v3"]);
  assert.equal(new AutoAugment("v0").size, 5);
  assert.equal(new AutoAugment("v1").size, 20);
  assert.equal(new AutoAugment("v2").size, 15);
  assert.equal(new AutoAugment("v3").size, 15);
  assert.throws(() => new AutoAugment("v9"), /unknown policy "v9"/);
  for (const name of Object.keys(POLICIES)) {
    const aa = new AutoAugment(name);
    for (let i = 0; i < aa.size; i++) {
      const out = aa.applySubPolicy(scene(i), i, new Rng(i));
      assert.equal(out.image.data.length, 64 * 48 * 3);
      const n = out.boxes!.length / 4;
      assert.equal(out.labels!.length, n);
      assert.equal(out.crowd!.length, n);
      for (let j = 0; j < out.boxes!.length; j += 4) {
        const b = out.boxes!;
        assert.ok(
          b[j] >= 0 && b[j + 1] >= 0 && b[j + 2] <= 64 && b[j + 3] <= 48,
        );
        assert.ok(b[j + 2] > b[j] && b[j + 3] > b[j + 1]);
      }
    }
  }
});

Deno.test("RandAugment draws the 16 ops and the identity uniformly", () => {
  assert.equal(RANDAUGMENT_OPS.length, 16);
  const ra = new RandAugment(2, 10);
  const rng = new Rng(1);
  const counts = new Array(17).fill(0);
  const N = 17000;
  for (let t = 0; t < N; t++) counts[ra.drawLayer(rng)]++;
  for (const c of counts) near(c / N, 1 / 17, 0.01, "layer draw");
  assert.throws(() => new RandAugment(-1, 10), /n must be/);
  assert.throws(() => new RandAugment(2, 11), /m must be/);
});

Deno.test("RandAugment ops keep masks aligned (geometric) or untouched (colour)", () => {
  const W = 64, H = 48;
  const data = new Uint8Array(W * H * 3);
  const mask = new Uint8Array(W * H);
  for (let y = 12; y < 36; y++) {
    for (let x = 16; x < 40; x++) {
      data.fill(255, (y * W + x) * 3, (y * W + x) * 3 + 3);
      mask[y * W + x] = 5;
    }
  }
  const seg: Sample = {
    id: 0,
    image: { data, width: W, height: H, channels: 3 },
    mask,
  };
  const ra = new RandAugment(1, 6);
  RANDAUGMENT_OPS.forEach(([name, ref], i) => {
    const out = ra.applyOp(seg, i, new Rng(i));
    assert.equal(out.mask!.length, W * H, name);
    if (!/_BBox$/.test(ref)) {
      assert.deepEqual(out.mask, mask, `${name} leaves the mask alone`);
      return;
    }
    for (let p = 0; p < W * H; p++) {
      const v = out.image.data[p * 3];
      const m = out.mask![p];
      // White ↔ class 5, black ↔ class 0, grey fill ↔ ignore.
      const want = v === 255 ? 5 : v === 0 ? 0 : IGNORE_LABEL;
      assert.equal(m, want, `${name} at ${p}: image ${v}`);
    }
  });
});

Deno.test("levels S1–S4 via the registry: seeded, box-safe", () => {
  const reg = new Registry().use(augment);
  assert.deepEqual(
    reg.list("augmenter"),
    [
      "S1",
      "S2",
      "S3",
      "S4",
      "autoaugment",
      "flip",
      "randaugment",
      "random-resized-crop",
      "scale-jitter",
    ],
  );
  for (const level of ["S1", "S2", "S3", "S4"]) {
    const aug = reg.create("augmenter", level, { outputSize: 32 });
    const outs = [0, 1, 2].map((i) =>
      aug.apply(scene(i), new Rng(seedFor(7, 0, i)))
    );
    const again = aug.apply(scene(0), new Rng(seedFor(7, 0, 0)));
    assert.deepEqual(again, outs[0], `${level} deterministic`);
    assert.notDeepEqual(outs[0].image.data, outs[1].image.data);
    const other = aug.apply(scene(0), new Rng(seedFor(8, 0, 0)));
    assert.notDeepEqual(other.image.data, outs[0].image.data, `${level} seed`);
    for (const o of outs) {
      assert.equal(o.image.width, 32);
      assert.equal(o.mask!.length, 32 * 32);
      const b = o.boxes!;
      assert.equal(o.labels!.length, b.length / 4);
      for (let j = 0; j < b.length; j += 4) {
        assert.ok(
          b[j] >= 0 && b[j + 1] >= 0 && b[j + 2] <= 32 && b[j + 3] <= 32,
        );
        assert.ok((b[j + 2] - b[j]) * (b[j + 3] - b[j + 1]) >= 1);
      }
    }
  }
  const s4 = reg.create("augmenter", "S4", {
    n: 1,
    m: 5,
    jitterMin: 0.1,
    jitterMax: 1.9,
  });
  assert.equal(s4.name, "S4");
  assert.throws(
    () => reg.create("augmenter", "S1", { jitterMin: 0 }),
    /jitterMin/,
  );
  assert.throws(
    () => reg.create("augmenter", "autoaugment", { policy: "x" }),
    /policy/,
  );
});

Deno.test("refSize scales pixel constants to the image size", () => {
  const s = scene(1);
  const k0 = { ...AA_CONSTANTS, refSize: 0 };
  const k640 = constantsWith(AA_CONSTANTS, AA_CONSTANTS.warp.filter, 640);
  // Level 10 on a 64-px-wide image: 250 px absolute, 250·64/640 = 25 px scaled.
  const moved = getOp("TranslateX_BBox")(s, 10, new Rng(0), k640, 1);
  const dx = moved.boxes![0] - s.boxes![0];
  const dx2 = moved.boxes![2] - s.boxes![2];
  assert.ok(Math.abs(dx) === 25 || Math.abs(dx2) === 25, `moved ${dx}, ${dx2}`);
  // Absolute 250 px moves everything out of a 64-px image.
  const gone = getOp("TranslateX_BBox")(s, 10, new Rng(0), k0, 1);
  assert.equal(gone.boxes!.length, 0);
  assert.throws(
    () => constantsWith(AA_CONSTANTS, AA_CONSTANTS.warp.filter, -1),
    /refSize/,
  );
});
